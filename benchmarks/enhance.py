"""Speed and memory of `vidsr enhance` end to end, per stage, on the CPU (and CUDA if present).

Makes the test clip with ffmpeg (the GRID clip bbaf2n shrunk so the face is about 12 px
wide, on a grey 640x360 frame, with its sound; ``--seconds`` loops it longer; ``--video``
takes a clip made before), then runs :func:`vidsr.pipeline.enhance_video` on it in a fresh
Python process per device and prints JSON: frames/s and faces/s, seconds per stage
(decode, detect, audio, model, paste, encode) and per frame, the model's share of the
total, CPU seconds (this process and its ffmpeg children: steadier than wall time on a
shared machine), peak RSS, the outputs' sizes and, with ``--reference OLD.overlay.mp4``
(an overlay of the same clip by other code), the PSNR of the new overlay against it, over
whole frames and over the face's box (a reference of another size is first resized to the new
one, area interpolation: the old overlay as a screen of the new one's size shows it).

    taskset -c 0 env OMP_NUM_THREADS=1 python benchmarks/enhance.py --seconds 10
    OMP_NUM_THREADS=2 python benchmarks/enhance.py --seconds 20          # the idle machine

``--archive N``: a folder of N copies of the clip through :func:`vidsr.pipeline.enhance_many`
(model and detector loaded once; ``--workers W``: in W processes): clips/hour and the per-file overhead (a file's wall time
beyond its stages). ``--json FILE`` also writes the result there. The code measured is the
``vidsr`` Python imports: ``PYTHONPATH=/other/checkout`` measures another version with the
same script (how before/after numbers are taken).

Uses the shipped weights (weights/vidsr-cpu.safetensors) unless --weights is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
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


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (ffmpeg)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def psnr(new: str, old: str, box=None) -> dict:
    """Mean PSNR (dB) of the frames of ``new`` against those of ``old`` (same size), over
    whole frames and, with ``box`` (xyxy in their pixels), over that box."""
    import cv2
    import numpy as np

    from vidsr.media import VideoReader

    def db(mse: float) -> float:
        return round(float(10 * np.log10(255.0**2 / mse)), 2) if mse > 0 else float("inf")

    whole, face, n, shrunk = [], [], 0, False
    for a, b in zip(VideoReader(new), VideoReader(old)):
        x, y = a.image.astype(np.float32), b.image
        if x.shape != y.shape:  # the old overlay as a screen of the new one's size shows it
            y, shrunk = cv2.resize(y, (x.shape[1], x.shape[0]), interpolation=cv2.INTER_AREA), True
        y = y.astype(np.float32)
        whole.append(float(((x - y) ** 2).mean()))
        if box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            face.append(float(((x[y0:y1, x0:x1] - y[y0:y1, x0:x1]) ** 2).mean()))
        n += 1
    out = {"frames": n, "frame_db": db(float(np.mean(whole))), "frame_db_min": min(db(m) for m in whole),
           "reference_resized": shrunk}
    if face:
        out |= {"face_box_db": db(float(np.mean(face))), "face_box_db_min": min(db(m) for m in face)}
    return out


def load(weights: str, device: str):
    import torch

    from vidsr.pipeline import load_model, make_detector

    if device == "cpu":
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    started = time.perf_counter()
    model = load_model(weights, device)  # once per archive in enhance_many: not counted per video
    detector = make_detector(next(model.parameters()).device, None)
    return model, detector, time.perf_counter() - started


def count_stage_cpu() -> dict:
    """CPU seconds of this process per stage, next to the report's wall seconds: the
    pipeline's Clock is wrapped (the same in every version measured). ffmpeg's own
    encoding and decoding run in child processes and are not in these."""
    import contextlib

    from vidsr.pipeline import timing

    seconds: dict = {}
    wall_clock = timing.Clock.__call__

    @contextlib.contextmanager
    def both(self, stage):
        start = time.process_time()
        try:
            with wall_clock(self, stage):
                yield
        finally:
            seconds[stage] = seconds.get(stage, 0.0) + time.process_time() - start

    timing.Clock.__call__ = both
    return seconds


def child(video: str, weights: str, device: str, batch: int, half: bool, keep: str | None, reference: str | None,
          scale: float | None) -> dict:
    """Enhance ``video`` once in this process and measure it."""
    from vidsr.pipeline import enhance_video

    model, detector, loaded = load(weights, device)
    stage_cpu = count_stage_cpu()
    if os.environ.get("VIDSR_BENCH_FULL_EVERY"):  # --full-every: the tracker's default, for this run
        import inspect

        from vidsr.faces.track import FaceTracker

        names = list(inspect.signature(FaceTracker.__init__).parameters)[1:]
        defaults = list(FaceTracker.__init__.__defaults__)
        defaults[names.index("full_every")] = int(os.environ["VIDSR_BENCH_FULL_EVERY"])
        FaceTracker.__init__.__defaults__ = tuple(defaults)
    out = keep or tempfile.mkdtemp()
    try:
        cpu, own, wall = cpu_seconds(), time.process_time(), time.perf_counter()
        report = enhance_video(video, out, weights=weights, model=model, detector=detector, batch=batch,
                               half=half, scale=scale, warn=lambda message: None)
        wall, cpu, own = time.perf_counter() - wall, cpu_seconds() - cpu, time.process_time() - own
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # before the PSNR's decoding
        sizes = {name: os.path.getsize(Path(out) / name) for name in sorted(os.listdir(out)) if name.endswith(".mp4")}
        quality = None
        if reference:
            overlay = Path(out) / report["outputs"]["overlay"] if "overlay" in report["outputs"] else None
            box = None
            if report["tracks"]:
                sx = report["settings"]["output_size"][0] / report["input"]["width"]
                sy = report["settings"]["output_size"][1] / report["input"]["height"]
                x0, y0, x1, y1 = report["tracks"][0]["box"]
                cx, cy, half_side = (x0 + x1) / 2 * sx, (y0 + y1) / 2 * sy, max(x1 - x0, y1 - y0) * sx * 0.75
                box = (cx - half_side, cy - half_side, cx + half_side, cy + half_side)
            quality = psnr(str(overlay), reference, box) if overlay else {"error": "no overlay written"}
            quality["reference_bytes"] = os.path.getsize(reference)
    finally:
        if keep is None:
            shutil.rmtree(out, ignore_errors=True)
    frames, faces = report["frames"], report["faces_enhanced"]
    per_stage = {k: v for k, v in report["timings_s"].items() if k != "total"}  # "other": probing, the report
    return {
        "device": report["settings"]["device"],
        "batch": batch,
        "half": half,
        "model": report["model"]["preset"],
        "frames": frames,
        "faces": faces,
        "output_size": report["settings"]["output_size"],
        "load_model_and_detector_s": round(loaded, 2),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_s_python": round(own, 2),
        "cpu_s_ffmpeg": round(cpu - own, 2),
        "frames_per_s": round(frames / wall, 2),
        "frames_per_cpu_s": round(frames / cpu, 2),
        "faces_per_s": round(faces / wall, 2),
        "stages_s": per_stage,
        "stages_ms_per_frame": {k: round(1000 * v / max(frames, 1), 2) for k, v in per_stage.items()},
        "stages_cpu_ms_per_frame": {k: round(1000 * v / max(frames, 1), 2) for k, v in stage_cpu.items()},
        "model_share": round(per_stage["model"] / wall, 3),
        "model_share_cpu": round(stage_cpu.get("model", 0.0) / cpu, 3),
        "flicker": report["flicker"],
        "output_bytes": sizes,
        "psnr_vs_reference": quality,
        "peak_rss_mb": round(peak, 1),
    }


def archive_child(folder: str, weights: str, device: str, workers: int = 1) -> dict:
    """Every clip of ``folder`` through enhance_many, the model loaded once (in this
    process, or once per worker with ``workers`` > 1)."""
    from vidsr.pipeline import enhance_many

    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    rows = []  # enhance_many loads the model and the detector once: counted in the total
    with tempfile.TemporaryDirectory() as out:
        cpu, wall = cpu_seconds(), time.perf_counter()
        results = enhance_many([folder], out, weights=weights, device=device, on_file=lambda *a: None,
                               warn=lambda message: None, workers=workers)
        wall, cpu = time.perf_counter() - wall, cpu_seconds() - cpu
        for r in results:
            report = json.loads(Path(r["report"]).read_text()) if r.get("report") else {}
            stages = sum(v for k, v in report.get("timings_s", {}).items() if k not in ("total", "other"))
            rows.append({"status": r["status"], "seconds": round(r["seconds"], 2),
                         "overhead_s": round(r["seconds"] - stages, 2), "frames": r.get("frames")})
    n = len(rows)
    return {
        "clips": n,
        "ok": sum(r["status"] == "ok" for r in rows),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "clips_per_hour": round(3600 * n / wall, 1),
        "clips_per_cpu_hour": round(3600 * n / cpu, 1),
        "first_file_s": rows[0]["seconds"] if rows else None,
        "mean_file_s": round(sum(r["seconds"] for r in rows) / max(n, 1), 2),
        "mean_overhead_s": round(sum(r["overhead_s"] for r in rows) / max(n, 1), 2),
        "files": rows,
        "workers": workers,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_worker": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1) if workers > 1 else None,
    }


def run_child(args: list[str], fatal: bool = True) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if out.returncode != 0:
        if fatal:
            sys.exit(f"the run failed:\n{out.stderr[-2000:]}")
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", help="model weights (default: the shipped model)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of the test clip")
    parser.add_argument("--video", help="this clip instead of making one (e.g. one made by an earlier run)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--scale", type=float, help="the overlay's enlargement (default: vidsr's; fix it to compare "
                        "overlays of code whose tracks differ a little)")
    parser.add_argument("--keep", help="write the outputs into this folder (kept)")
    parser.add_argument("--reference", help="an overlay of the same clip to compare with (PSNR)")
    parser.add_argument("--archive", type=int, default=0, metavar="N",
                        help="also run a folder of N copies of the clip (clips/hour)")
    parser.add_argument("--cpu-only", action="store_true", help="no CUDA runs even where a GPU is")
    parser.add_argument("--archive-only", action="store_true", help="with --archive: only the archive run")
    parser.add_argument("--workers", type=int, default=1, help="with --archive: vidsr enhance --workers (processes)")
    parser.add_argument("--full-every", type=int, help="frames between full-frame detection passes (default: vidsr's)")
    parser.add_argument("--json", help="also write the result to this file")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--archive-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        video, device, batch, half = args.child
        print(json.dumps(child(video, args.weights, device, int(batch), half == "1", args.keep, args.reference,
                               args.scale)))
        return
    if args.archive_child:
        folder, device, workers = args.archive_child
        print(json.dumps(archive_child(folder, args.weights, device, int(workers))))
        return

    from vidsr.errors import VidsrError
    from vidsr.weights import resolve_weights

    if not args.video and not CLIP.exists():
        sys.exit(f"shared data not found: {CLIP}")
    try:
        weights = str(resolve_weights(args.weights))
    except VidsrError as e:
        sys.exit(f"{e}; pass --weights")
    import torch

    import vidsr

    if args.full_every:
        os.environ["VIDSR_BENCH_FULL_EVERY"] = str(args.full_every)
    runs = [("cpu", args.batch, False)]
    if torch.cuda.is_available() and not args.cpu_only:
        runs += [("cuda", args.batch, False), ("cuda", args.batch, True)]
    results = {"clip": args.video or f"{CLIP.name} face ~12 px in 640x360, {args.seconds:g} s", "weights": weights,
               "code": str(Path(vidsr.__file__).parent), "torch": torch.__version__,
               "threads": os.environ.get("OMP_NUM_THREADS"), "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(args.video) if args.video else Path(tmp) / "tiny12.mp4"
        if not args.video:
            make_clip(video, args.seconds)
        for device, batch, half in runs if not (args.archive and args.archive_only) else []:
            extra = ["--keep", str(Path(args.keep) / f"{device}{'-half' if half else ''}")] if args.keep else []
            if extra:
                Path(extra[1]).mkdir(parents=True, exist_ok=True)
            extra += ["--reference", args.reference] if args.reference and device == "cpu" and not half else []
            extra += ["--scale", str(args.scale)] if args.scale else []
            results["runs"].append(run_child(["--weights", weights, *extra, "--child", str(video), device, str(batch),
                                              str(int(half))]))
        if args.archive:
            folder = Path(tmp) / "archive"
            folder.mkdir()
            for i in range(args.archive):
                shutil.copy(video, folder / f"clip{i:03d}{video.suffix}")
            results["archive"] = run_child(["--weights", weights, "--archive-child", str(folder), "cpu", str(args.workers)],
                                           fatal=False)
    print_result(results, args.json)


def print_result(results: dict, path: str | None) -> None:
    """``results`` as JSON on stdout and, with ``path`` (--json), in that file."""
    text = json.dumps(results, indent=1)
    if path:
        Path(path).write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
