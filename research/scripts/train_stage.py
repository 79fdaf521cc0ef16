"""`vidsr train` with --set, as the research commands ran it before `vidsr train --set KEY=VALUE`
existed (the same overrides; new commands: use `vidsr train --set`).

    python research/scripts/train_stage.py STAGE --data SET --runs RUNS [--steps N] [--resume] \
        [--seed S] [--set KEY=VALUE ...]

Each --set overrides one stage option of the preset (vidsr/models/presets.json); VALUE is read
as JSON where it parses (numbers, true/false), else as a string (a path). One CPU thread
unless --threads says otherwise.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from vidsr.train.api import train


def value(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage")
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0, help="seeds the new networks, the batches and the degradations")
    ap.add_argument("--checkpoint-every", type=int, default=100)
    ap.add_argument("--sample-every", type=int, default=500)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    overrides = {}
    for item in args.set:
        key, sep, text = item.partition("=")
        if not sep:
            ap.error(f"--set needs KEY=VALUE, got {item!r}")
        overrides[key] = value(text)
    for path in train(args.stage, args.data, args.runs, preset=args.preset, steps=args.steps, resume=args.resume,
                      device="cpu", seed=args.seed, overrides=overrides,
                      checkpoint_every=args.checkpoint_every, sample_every=args.sample_every):
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
