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
from vidsr.media import VideoReader, run_ffmpeg
from vidsr.pipeline import enhance_video

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


def tile(rgb: np.ndarray) -> np.ndarray:
    import cv2

    interp = cv2.INTER_NEAREST if rgb.shape[0] < TILE else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(rgb), (TILE, TILE), interpolation=interp)


def grid12_clip(path: Path) -> None:
    """bbaf2n shrunk 0.12x (face about 12 px) on a grey 640x360 frame, with its sound."""
    run_ffmpeg([
        "-i", str(MAN), "-f", "lavfi", "-i", "color=c=gray:size=640x360:rate=25",
        "-filter_complex", "[0:v]scale=43:35:flags=area[s];[1:v][s]overlay=300:160:shortest=1[v]",
        "-map", "[v]", "-map", "0:a", "-c:v", "libx264", "-crf", "12", "-pix_fmt", "yuv420p",
        "-c:a", "aac", "-y", str(path),
    ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default=None)
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    common = dict(weights=args.weights, mode="both", compare=True, device="cpu", measure_flicker=False)
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
        clip = tmp / "grid12.mp4"
        grid12_clip(clip)
        ways = {"none": dict(use_audio=False), "own": {}, "woman": dict(audio=EXAMPLE)}
        strips = {}
        for name, extra in ways.items():
            enhance_video(clip, tmp / name, **common, **extra)
            strips[name] = middle_frame(only_track(tmp / name))
        half_width = strips["own"].shape[1] // 2  # --compare: [low-res input | result]
        tiles = [strips["own"][:, :half_width]] + [strips[n][:, half_width:] for n in ("none", "own", "woman")]
        save_png(out / "grid12-voices.png", np.concatenate([tile(t) for t in tiles], axis=1))
    print(f"wrote {out}/astronaut-track.png, astronaut-overlay-crop.png, grid12-voices.png")


if __name__ == "__main__":
    main()
