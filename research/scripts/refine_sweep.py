"""How many refinement steps (FaceSR.refine) bring G's faces nearest the person, offline.

Test-split faces of a prepared set, degraded as real tiny faces are (vidsr.data.degrade, seeded),
through E_l; for each setting, the faces refined toward their input, back-projected at strength
1 (as ``vidsr enhance`` does), and judged by dlib's face descriptor against the original face:
the mean distance and the paired difference to no refinement (mean +- standard error).

    python research/scripts/refine_sweep.py --data SET --weights W -n 256 --steps 0,3,5,10 --lr 0.1

Writes one JSON line per setting to stdout. The measure that decides the default is the real
footage (``vidsr evaluate --footage ... --refine N``); this is the quick one for choosing N.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from vidsr.data.degrade import degrade_batch
from vidsr.data.shards import ShardDataset
from vidsr.eval.judges import face_embedder
from vidsr.models.facesr import REFINE_LR, FaceSR
from vidsr.models.lapsrn import bicubic


def test_faces(data: str, n: int, resolution: int, source: int | None = None) -> torch.Tensor:
    """The first ``n`` faces of the set's test split; with ``source`` (the index of a source
    folder in the set, as `vidsr prepare` was given them), only that source's, each photo once
    (the split holds a photo once per voice clip)."""
    ds = ShardDataset(data, "test", shuffle=False, with_audio=False, hr_size=resolution, epochs=1)
    faces, seen = [], set()
    for item in ds:
        if source is not None:
            key = (item["identity"], item["video"])
            if item["source"] != source or key in seen:
                continue
            seen.add(key)
        faces.append(item["hr"])
        if len(faces) == n:
            break
    return torch.stack(faces)


def identity_distance(x_h: torch.Tensor):
    """The judge of faces against the originals x_h: faces [B, 3, R, R] -> dlib descriptor distance
    of each to its original (SystemExit without the judge)."""
    embedder = face_embedder()
    if isinstance(embedder, str):
        raise SystemExit(embedder)
    original = embedder.embed(x_h)
    return lambda x: np.linalg.norm(embedder.embed(x.clamp(-1, 1)) - original, axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("-n", type=int, default=256)
    ap.add_argument("--steps", default="0,3,5,10")
    ap.add_argument("--lr", default=str(REFINE_LR), help="comma-separated step sizes")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    model = FaceSR.load(args.weights)
    r, l = model.preset.resolution, model.preset.lr_size
    x_h = test_faces(args.data, args.n, r)
    x_l = degrade_batch(x_h, l, np.random.default_rng(args.seed))
    distance = identity_distance(x_h)

    with torch.inference_mode():
        z = model.encode_lowres(x_l)
        base = distance(model.draw(z, x_l, 0, 1.0))
    print(json.dumps({"setting": "bicubic", "distance": round(float(distance(bicubic(x_l, r)).mean()), 4)}))
    for lr in (float(v) for v in args.lr.split(",")):
        for steps in (int(v) for v in args.steps.split(",")):
            t = time.perf_counter()
            with torch.inference_mode():
                x = model.back_project(model.refine(z, x_l, steps, lr=lr), x_l, 1.0)  # draw() with another lr
            seconds = time.perf_counter() - t
            d = distance(x)
            diff = d - base
            print(json.dumps({"steps": steps, "lr": lr, "n": len(d), "distance": round(float(d.mean()), 4),
                              "paired": round(float(diff.mean()), 4),
                              "paired_se": round(float(diff.std(ddof=1) / np.sqrt(len(d))), 4),
                              "lr_error": round(float((model.downsample(x) - x_l).abs().mean()), 4),
                              "model_s": round(seconds, 1)}), flush=True)


if __name__ == "__main__":
    main()
