"""Give a voice-only F a picture term fitted in closed form (vidsr.train.picture_fit).

    python research/scripts/fit_picture_term.py --data SET --runs RUNS --weights VOICE_ONLY.safetensors -o OUT.safetensors

RUNS: the runs folder the model was trained in (its E_h, highres/); the model file gives E_l,
E_a and F. Writes OUT (the same model with F's z_l weights and bias from the ridge fit) and prints
the fit (penalty, validation L1 of eq. (4)'s code term). About 1 min for 19,200 faces on one core.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from rich.progress import Progress

from vidsr.train.picture_fit import fit_picture_term


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with Progress() as bar:
        task = bar.add_task("encoding faces", total=args.batches)
        record = fit_picture_term(args.data, args.runs, args.weights, args.out, args.batches, args.batch, args.seed,
                                  progress=lambda done, total: bar.update(task, completed=done))
    print(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
