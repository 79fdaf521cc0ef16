"""Memory of `track_video` on a 1-minute and a 10-minute video: it should stay flat.

Loops a GRID clip (360x288, 25 fps) into a 1-minute and a 10-minute video with ffmpeg's
``-stream_loop``, then tracks the faces in each in a fresh Python process and prints JSON:
peak RSS of the Python process (``ru_maxrss``), RSS of Python and of the ffmpeg decoder
sampled every 1,500 frames, frames per second, and the tracks found.

    taskset -c 1 env OMP_NUM_THREADS=1 python benchmarks/detect_memory.py [--detect-every 25]

Takes a few minutes on one core (the 10-minute video has 15,000 frames; with a detection
pass every 25 frames that is 600 detections).
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


def make_looped(path: Path, seconds: int) -> None:
    """``seconds`` of the GRID clip looped, H.264 at its own size and frame rate."""
    from vidsr.media import run_ffmpeg

    run_ffmpeg([
        # setpts renumbers the frames: the loop's joins would leave timestamp gaps.
        "-stream_loop", "-1", "-i", str(CLIP), "-t", str(seconds), "-an",
        "-vf", "setpts=N/(25*TB)", "-r", "25",
        "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-y", str(path),
    ])  # fmt: skip


def child(video: str, detect_every: int) -> dict:
    """Track one video in this process and measure it."""
    import psutil
    import torch

    from vidsr.faces import TinyFaceDetector, track_video

    torch.set_num_threads(1)
    me = psutil.Process()
    detector = TinyFaceDetector(min_face=8)
    rss_after_load = me.memory_info().rss
    samples: list[tuple[int, float, float]] = []
    count = [0]

    def progress(done: int, expected: int) -> None:
        count[0] = done
        if done % 1500 == 0:
            ffmpeg = sum(c.memory_info().rss for c in me.children(recursive=True))
            samples.append((done, round(me.memory_info().rss / 2**20, 1), round(ffmpeg / 2**20, 1)))

    wall, cpu = time.perf_counter(), time.process_time()
    tracks = track_video(video, detect_every=detect_every, detector=detector, progress=progress)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    frames = count[0]
    return {
        "video": Path(video).name,
        "frames": frames,
        "frames_with_face": sum(len(t.frames) for t in tracks),
        "tracks": [(t.id, t.first, t.last, round(t.mean_size, 1)) for t in tracks],
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "frames_per_s_wall": round(frames / wall, 1),
        "rss_after_model_load_mb": round(rss_after_load / 2**20, 1),
        "rss_samples_mb": samples,  # (frames done, Python RSS, ffmpeg RSS) in MiB
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detect-every", type=int, default=25)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.detect_every)))
        return

    if not CLIP.exists():
        sys.exit(f"shared data not found: {CLIP}")
    results = {"clip": CLIP.name, "detect_every": args.detect_every, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (1, 10):
            video = Path(tmp) / f"loop_{minutes}min.mp4"
            make_looped(video, 60 * minutes)
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(video), "--detect-every", str(args.detect_every)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            run = json.loads(out.stdout.strip().splitlines()[-1])
            run["minutes"] = minutes
            results["runs"].append(run)
    one, ten = results["runs"]
    results["peak_rss_growth_mb_1_to_10_min"] = round(ten["peak_rss_mb"] - one["peak_rss_mb"], 1)
    # One key per line, one run per line.
    lines = [f" {json.dumps(k)}: {json.dumps(v)}" for k, v in results.items() if k != "runs"]
    runs = ",\n  ".join(json.dumps(r) for r in results["runs"])
    print("{\n" + ",\n".join(lines) + f',\n "runs": [\n  {runs}\n ]\n}}')


if __name__ == "__main__":
    main()
