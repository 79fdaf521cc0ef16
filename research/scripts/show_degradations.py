"""Draw what vidsr.data.degrade does to training inputs: ``docs/img/degradations.png``.

One row per face (test people of UTKFace, UTKFace-more and LFW, tight framing, 64 px as the
cpu preset trains): [high-res | clean 8x8 (the paper's bicubic D) | 8 degraded 8x8 inputs],
the 8x8 tiles enlarged with nearest neighbours. Seeded: the picture is the same every time.

    python research/scripts/show_degradations.py [--shared ../shared/data] [--out docs/img/degradations.png]
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch

from vidsr.data.degrade import degrade_face
from vidsr.data.lfw import crop_lfw, framing_scale, list_lfw
from vidsr.data.splits import is_test_identity
from vidsr.data.utkface import list_images
from vidsr.imaging import downsample, from_uint8, read_rgb, save_png, square_photo, to_uint8
from vidsr.pipeline.still import tile

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("VIDSR_SHARED") or ROOT.parent / "shared")
HR, LR_SIZE, TILE, VERSIONS, PAD = 64, 8, 64, 8, 2


def faces(shared: Path, per_source: int) -> list[np.ndarray]:
    out = []
    for name in ("utkface", "utkface-more"):
        files = [p for p in list_images(shared / name) if is_test_identity(p.name)][:per_source]
        out += [np.array(square_photo(read_rgb(p), HR)) for p in files]
    photos, _ = list_lfw(shared / "lfw")
    people = [p for p in photos if is_test_identity(p.person) and p.gender in (0, 1)]
    out += [np.array(crop_lfw(read_rgb(p.path), HR, framing_scale("tight"))) for p in people[::97][:per_source]]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=SHARED / "data")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "degradations.png")
    ap.add_argument("--per-source", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    for hr in faces(args.shared, args.per_source):
        clean = to_uint8(downsample(from_uint8(hr)[None], LR_SIZE))[0]
        tiles = [hr, tile(clean, TILE)] + [tile(degrade_face(hr, LR_SIZE, rng)[0], TILE) for _ in range(VERSIONS)]
        row = np.full((TILE, len(tiles) * (TILE + PAD) - PAD + 2 * PAD, 3), 255, np.uint8)
        for i, t in enumerate(tiles):
            x = i * (TILE + PAD) + (2 * PAD if i >= 2 else 0)  # a wider gap after the clean input
            row[:, x:x + TILE] = t
        rows.append(row)
    sheet = np.full((len(rows) * (TILE + PAD) + PAD, rows[0].shape[1] + 2 * PAD, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        sheet[PAD + r * (TILE + PAD):PAD + r * (TILE + PAD) + TILE, PAD:PAD + row.shape[1]] = row
    save_png(args.out, sheet)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
