"""Flicker of the face tracks for back-projection settings, on the two GRID clips shrunk to a
face of about 10-12 px (640x360, 25 fps, H.264):

    python research/scripts/measure_flicker.py [--shared ../shared] [--json F] [--detail D ...]

For each clip and each (S, K) of --back-project / --frames (and, for each --detail D, S = 1,
K = 11 with that share of G's detail): the mean |change| between the faces of consecutive
frames of the track written (0-255 levels; the report's ``flicker.smoothed``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from vidsr.media.synth import shrunk_face_clip
from vidsr.pipeline import enhance_video, load_model, make_detector
from vidsr.pipeline.drawing import Drawing

SETTINGS = ((0.0, 1, 1.0), (1.0, 1, 1.0), (1.0, 11, 1.0))  # (back_project S, frames K, detail)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--detail", type=float, action="append", default=[], help="also S = 1, K = 11 with this --detail")
    args = ap.parse_args()
    torch.set_num_threads(1)
    model = load_model(args.weights, "cpu")
    detector = make_detector(torch.device("cpu"), (6, 20))
    result = {}
    with tempfile.TemporaryDirectory() as work:
        for name in ("bbaf2n", "lbbc2a"):
            clip = Path(work) / f"{name}.mp4"
            shrunk_face_clip(args.shared / "data" / "grid" / f"{name}.mpg", clip, size=(36, 29))
            for s, k, d in SETTINGS + tuple((1.0, 11, d) for d in args.detail):
                report = enhance_video(clip, Path(work) / f"{name}-{s}-{k}-{d}", model=model, detector=detector,
                                       mode="tracks", drawing=Drawing(back_project=s, frames=k, detail=d), warn=lambda m: None)
                sizes = [t["size_px"] for t in report["tracks"] if t["enhanced"]]
                result[f"{name} S={s:g} K={k}" + (f" detail={d:g}" if d != 1 else "")] = {"flicker": report["flicker"]["smoothed"], "face_px": sizes}
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
