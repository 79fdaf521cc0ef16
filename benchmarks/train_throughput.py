"""Training throughput of every stage (images/s), on the real code with real data.

Earlier stages' weights are freshly initialised (speed does not depend on what they learnt),
so every stage can be timed without a finished run. Prints one JSON object.

    python benchmarks/train_throughput.py --data /path/to/prepared/set --preset cpu --steps 10

Under ``torchrun --nproc_per_node N`` (data parallelism, as ``vidsr train`` runs there) every
process trains on its own batch and img/s counts all of them; rank 0 prints.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

from vidsr.models.build import BUILDERS
from vidsr.models.io import save_networks
from vidsr.models.presets import get_preset
from vidsr.models.runs import WEIGHTS
from vidsr.train.api import stage_class
from vidsr.train.context import TrainContext
from vidsr.train.stages import STAGE_ORDER

OUTPUTS = {"generator": ("G", "D"), "highres": ("E_h",), "lowres": ("E_l",), "audio": ("E_a",)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, type=Path)
    ap.add_argument("--preset", default="cpu")
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--stages", default=",".join(STAGE_ORDER))
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    preset = get_preset(args.preset)
    result = {"preset": args.preset, "precision": args.precision, "threads": torch.get_num_threads(), "stages": {}}
    with tempfile.TemporaryDirectory() as tmp:
        runs = Path(tmp)
        for name, nets in OUTPUTS.items():  # each process its own, alike: the weights are broadcast from rank 0
            save_networks(runs / name / WEIGHTS, {n: BUILDERS[n](preset) for n in nets}, preset)
        for name in args.stages.split(","):
            ctx = TrainContext.create(preset, args.data, runs, args.device, args.precision, 0, preset.train[name])
            result["device"] = str(ctx.device)
            result["processes"] = ctx.world_size
            stage = stage_class(name)(ctx)
            for step in range(args.warmup):
                stage.train_step(step)
            if ctx.device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            for step in range(args.warmup, args.warmup + args.steps):
                stage.train_step(step)
            if ctx.device.type == "cuda":
                torch.cuda.synchronize()
            dt = (time.perf_counter() - t) / args.steps
            result["stages"][name] = {"batch": stage.batch_size, "s_per_step": round(dt, 4),
                                      "img_per_s": round(stage.batch_size * ctx.world_size / dt, 2)}
            if ctx.is_main:
                print(json.dumps({name: result["stages"][name]}), flush=True)
    if ctx.is_main:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
