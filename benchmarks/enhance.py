"""Speed and memory of `vidsr enhance` end to end, per stage, on the CPU (and CUDA if present).

Makes the test clip with ffmpeg (the GRID clip bbaf2n shrunk so the face is about 12 px
wide, on a grey 640x360 frame, with its sound; ``--seconds`` loops it longer), then runs
:func:`vidsr.pipeline.enhance_video` on it in a fresh Python process per device and prints
JSON: frames/s and faces/s, seconds per stage (decode, detect, audio, model, paste,
encode) and per frame, the model's share of the total, and peak RSS.

    taskset -c 1 env OMP_NUM_THREADS=1 python benchmarks/enhance.py [--weights W.safetensors]

Uses the shipped weights (weights/vidsr-cpu.safetensors) unless --weights is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIDSR_SHARED") or ROOT.parent / "shared")
CLIP = SHARED / "data" / "grid" / "bbaf2n.mpg"
FACE_SCALE = 0.12  # GRID's ~105 px wide face (MTCNN box) -> about 12 px


def make_clip(path: Path, seconds: float) -> None:
    """The GRID clip shrunk by FACE_SCALE onto a grey 640x360 frame, looped to ``seconds``."""
    from vidsr.media.synth import shrunk_face_clip

    shrunk_face_clip(CLIP, path, size=(round(360 * FACE_SCALE), round(288 * FACE_SCALE)), seconds=seconds)


def child(video: str, weights: str, device: str, batch: int, half: bool) -> dict:
    """Enhance ``video`` once in this process and measure it."""
    import torch

    from vidsr.pipeline import make_detector, enhance_video, load_model

    if device == "cpu":
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    load = time.perf_counter()
    model = load_model(weights, device)  # once per archive in enhance_many: not counted per video
    detector = make_detector(next(model.parameters()).device, None)
    load = time.perf_counter() - load
    with tempfile.TemporaryDirectory() as out:
        wall = time.perf_counter()
        report = enhance_video(video, out, weights=weights, model=model, detector=detector, batch=batch,
                               half=half, warn=lambda message: None)
        wall = time.perf_counter() - wall
    frames, faces = report["frames"], report["faces_enhanced"]
    stages = report["timings_s"]
    per_stage = {k: v for k, v in stages.items() if k != "total"}  # "other": probing, the report
    return {
        "device": report["settings"]["device"],
        "batch": batch,
        "half": half,
        "model": report["model"]["preset"],
        "frames": frames,
        "faces": faces,
        "output_size": report["settings"]["output_size"],
        "load_model_and_detector_s": round(load, 2),
        "wall_s": round(wall, 2),
        "frames_per_s": round(frames / wall, 2),
        "faces_per_s": round(faces / wall, 2),
        "stages_s": per_stage,
        "stages_ms_per_frame": {k: round(1000 * v / max(frames, 1), 2) for k, v in per_stage.items()},
        "model_share": round(per_stage["model"] / wall, 3),
        "flicker": report["flicker"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="model weights (default: the shipped model)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the test clip")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        video, device, batch, half = args.child
        print(json.dumps(child(video, args.weights, device, int(batch), half == "1")))
        return

    from vidsr.errors import VidsrError
    from vidsr.weights import resolve_weights

    if not CLIP.exists():
        sys.exit(f"shared data not found: {CLIP}")
    try:
        weights = str(resolve_weights(args.weights))
    except VidsrError as e:
        sys.exit(f"{e}; pass --weights")
    import torch

    runs = [("cpu", args.batch, False)]
    if torch.cuda.is_available():
        runs += [("cuda", args.batch, False), ("cuda", args.batch, True)]
    results = {"clip": f"{CLIP.name} face ~12 px in 640x360, {args.seconds:g} s", "weights": weights,
               "torch": torch.__version__, "threads": os.environ.get("OMP_NUM_THREADS"), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "tiny12.mp4"
        make_clip(video, args.seconds)
        for device, batch, half in runs:
            out = subprocess.run(
                [sys.executable, __file__, "--weights", weights, "--child", str(video), device, str(batch), str(int(half))],
                capture_output=True, text=True,
            )  # fmt: skip
            if out.returncode != 0:
                sys.exit(f"the {device} run failed:\n{out.stderr[-2000:]}")
            results["runs"].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
