"""Keep a trained stage in the repository: its weights in fp16 (half the size), same metadata.

    python research/scripts/keep_stage.py RUNS/highres weights/runs/cpu/highres

Writes DEST/weights.safetensors (floating tensors as fp16, the file's metadata kept, so that a
warm start reads it as the stage wrote it) and copies the run's options.json and stats.jsonl
beside it. A README already in DEST is left as it is. Used for the kept E_h, which later rounds
and rebuilds start from (weights/runs/cpu/highres/README.md).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from safetensors import safe_open
from safetensors.torch import load_file

from vidsr.models.io import atomic_save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stage_dir", type=Path, help="a stage's run folder, e.g. RUNS/highres")
    ap.add_argument("dest", type=Path)
    args = ap.parse_args()
    src = args.stage_dir / "weights.safetensors"
    with safe_open(str(src), "pt") as f:
        metadata = f.metadata()
    tensors = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(src)).items()}
    atomic_save(tensors, args.dest / "weights.safetensors", metadata)
    for name in ("options.json", "stats.jsonl"):
        shutil.copy(args.stage_dir / name, args.dest / name)
    print(f"kept {src} (step {metadata.get('step', '?')}, {len(tensors)} tensors) in {args.dest}")


if __name__ == "__main__":
    main()
