"""Remake the pictures in ``docs/img`` with the shipped default model (about 3 min here).

- ``astronaut-track.png`` / ``astronaut-overlay-crop.png``: ``vidsr enhance`` on the
  example clip (the face track beside its low-res input; a frame of the overlay video,
  cropped round the face).
- ``grid12-voices.png``: the GRID speaker bbaf2n (a man) shrunk to a 12 px face in a
  640x360 frame, enhanced four ways, as a strip [low-res input | E_l only (``--no-audio``) |
  with his own voice | with a woman's voice (the example clip's made voice)]: what the
  voice changes. The middle frame of each face track.

    python scripts/make_stills.py [--weights FILE] [--out docs/img]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from vidsr.imaging import save_png
from vidsr.media import VideoReader
from vidsr.media.synth import shrunk_face_clip
from vidsr.pipeline import enhance_video
from vidsr.pipeline.still import tile

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIDSR_SHARED") or ROOT.parent / "shared")
EXAMPLE = ROOT / "examples" / "astronaut.mp4"
MAN = SHARED / "data" / "grid" / "bbaf2n.mpg"
TILE = 128


def middle_frame(path: Path) -> np.ndarray:
    frames = [frame.image for frame in VideoReader(path)]
    return frames[len(frames) // 2]


def only_track(outdir: Path) -> Path:
    tracks = sorted(outdir.glob("*.track-*.mp4"))
    if len(tracks) != 1:
        raise SystemExit(f"expected one face track in {outdir}, found {len(tracks)}")
    return tracks[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    common = dict(weights=args.weights, mode="both", compare=True, device="cpu")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # The example clip.
        enhance_video(EXAMPLE, tmp / "astro", **common)
        save_png(out / "astronaut-track.png", middle_frame(only_track(tmp / "astro")))
        overlay = middle_frame(tmp / "astro" / "astronaut.overlay.mp4")
        ys, xs = np.nonzero(np.abs(overlay.astype(int) - np.median(overlay, axis=(0, 1))).sum(-1) > 60)
        cy, cx, half = int(np.median(ys)), int(np.median(xs)), 200
        y0, x0 = max(cy - half, 0), max(cx - 3 * half // 2, 0)
        save_png(out / "astronaut-overlay-crop.png", overlay[y0 : y0 + 2 * half, x0 : x0 + 3 * half])
        # The GRID man at 12 px: what the voice changes.
        clip = tmp / "grid12.mp4"  # bbaf2n shrunk 0.12x: a face about 12 px wide
        shrunk_face_clip(MAN, clip, encoder=("-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p"))
        ways = {"none": dict(use_audio=False), "own": {}, "woman": dict(audio=EXAMPLE)}
        strips = {}
        for name, extra in ways.items():
            enhance_video(clip, tmp / name, **common, **extra)
            strips[name] = middle_frame(only_track(tmp / name))
        half_width = strips["own"].shape[1] // 2  # --compare: [low-res input | result]
        tiles = [strips["own"][:, :half_width]] + [strips[n][:, half_width:] for n in ("none", "own", "woman")]
        save_png(out / "grid12-voices.png", np.concatenate([tile(t, TILE) for t in tiles], axis=1))
    print(f"wrote {out}/astronaut-track.png, astronaut-overlay-crop.png, grid12-voices.png")


if __name__ == "__main__":
    main()
