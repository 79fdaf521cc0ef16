"""Clips per hour of `vidsr enhance --ray` on a local Ray cluster against `--workers 2`, the same
clips, one run each, one after the other.

Makes the test clip of benchmarks/enhance.py (the GRID clip bbaf2n shrunk so the face is about
12 px wide, on a grey 640x360 frame, with its sound; ``--seconds`` long), copies it ``--clips``
times into a folder, and runs :func:`vidsr.pipeline.enhance_many` over the folder in a fresh
Python process per side, on the CPU, each into a fresh output folder:

- ``workers``: ``workers=W`` (W processes of one thread, each loading the model once);
- ``ray``: ``ray="local"``, the cluster that `vidsr enhance --ray` starts on this machine (as many
  one-thread tasks at once as the machine has cores, each worker loading the model once),
  started and stopped inside the run: its start is part of the wall time, and is also given
  apart (``start_s``: until the first tasks were handed to the cluster).

Prints JSON (``--json FILE`` also writes it): per side the wall seconds, clips/hour, the
files' statuses, and for Ray its workers and model loads; and Ray's clips/hour as a share of
the workers' (``ray_vs_workers``).

    python benchmarks/cluster.py --clips 6 --seconds 10 --json cluster.json

Uses the shipped weights (weights/vidsr-cpu.safetensors) unless --weights is given.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from enhance import CLIP, make_clip, print_result  # noqa: E402  (the same test clip, the same JSON)


def child(side: str, folder: str, weights: str, workers: int) -> dict:
    """One side's run over ``folder``, in this (fresh) process."""
    from vidsr.pipeline import enhance_many

    states: list[tuple[float, dict]] = []
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        if side == "ray":
            results = enhance_many([folder], out, weights=weights, device="cpu", ray="local",
                                   on_cluster=lambda state: states.append((time.perf_counter(), state)))
        else:
            results = enhance_many([folder], out, weights=weights, device="cpu", workers=workers,
                                   on_file=lambda *a: None, warn=lambda message: None)
        wall = time.perf_counter() - started
    n = len(results)
    row = {"side": side, "clips": n, "statuses": sorted({r["status"] for r in results}),
           "wall_s": round(wall, 2), "clips_per_hour": round(3600 * n / wall, 1),
           "mean_file_s": round(sum(r["seconds"] for r in results) / max(n, 1), 2)}
    if side == "ray":
        first, last = states[0][0], states[-1][1]
        row.update(start_s=round(first - started, 2),
                   clips_per_hour_after_start=round(3600 * n / (wall - (first - started)), 1),
                   workers=last["workers"], model_loads=last["model_loads"], frames_per_s=last["fps"])
    else:
        row["workers"] = workers
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="model weights (default: the shipped model)")
    parser.add_argument("--clips", type=int, default=6, help="copies of the clip in the archive")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the clip")
    parser.add_argument("--workers", type=int, default=2, help="the local side's --workers")
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    from vidsr.errors import VidsrError
    from vidsr.weights import resolve_weights

    try:
        weights = str(resolve_weights(args.weights))
    except VidsrError as e:
        sys.exit(f"{e}; pass --weights")
    if args.child:
        side, folder, workers = args.child
        print(json.dumps(child(side, folder, weights, int(workers))))
        return
    if not CLIP.exists():
        sys.exit(f"shared data not found: {CLIP}")
    import ray

    import vidsr

    results = {"clip": f"{CLIP.name} face ~12 px in 640x360, {args.seconds:g} s", "clips": args.clips,
               "weights": weights, "code": str(Path(vidsr.__file__).parent), "ray": ray.__version__,
               "cores": len(os.sched_getaffinity(0)), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
               "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "archive"
        folder.mkdir()
        make_clip(Path(tmp) / "clip.mp4", args.seconds)
        for i in range(args.clips):
            shutil.copy(Path(tmp) / "clip.mp4", folder / f"clip{i:03d}.mp4")
        for side in ("workers", "ray"):
            out = subprocess.run([sys.executable, __file__, "--weights", weights, "--child", side, str(folder),
                                  str(args.workers)], capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"the {side} run failed:\n{out.stderr[-2000:]}")
            results["runs"].append(json.loads(out.stdout.strip().splitlines()[-1]))
    by_side = {r["side"]: r for r in results["runs"]}
    results["ray_vs_workers"] = round(by_side["ray"]["clips_per_hour"] / by_side["workers"]["clips_per_hour"], 3)
    print_result(results, args.json)


if __name__ == "__main__":
    main()
