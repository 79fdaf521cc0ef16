"""Many videos with one loaded model: :func:`enhance_many`, what `vidsr enhance` runs."""

from __future__ import annotations

import contextlib
import gc
import glob
import os
import re
import signal
import time
from pathlib import Path
from typing import Callable, Iterable

from vidsr.errors import FolderBusyError, VidsrError
from vidsr.pipeline.constants import VIDEO_EXTENSIONS
from vidsr.pipeline.model import load_model, make_detector, model_device
from vidsr.pipeline.options import check_options
from vidsr.pipeline.video import enhance_checked, probe_video


def expand_inputs(inputs: Iterable[str | os.PathLike], extensions: tuple[str, ...] = VIDEO_EXTENSIONS) -> list[Path]:
    """Files as given, folders searched (recursively) for ``extensions``, globs expanded,
    "a.mp4,b.mp4" split; in order, without repeats. A name that is none of these is
    kept (it fails later, with its own message)."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in extensions)
        elif not p.exists() and glob.has_magic(str(item)):
            found += expand_inputs(sorted(glob.glob(str(item), recursive=True)), extensions)
        elif not p.exists() and "," in str(item):
            found += expand_inputs([part for part in str(item).split(",") if part], extensions)
        else:
            found.append(p)
    return list(dict.fromkeys(found))


OUTPUT_NAME = re.compile(r".+\.(overlay|track-\d+)\.mp4")


def is_output(path: Path, outdir: Path) -> bool:
    """Whether ``path`` is a video an earlier run wrote into ``outdir`` (an overlay or a
    track video of one of its subfolders)."""
    return bool(OUTPUT_NAME.fullmatch(path.name)) and outdir.resolve() in path.resolve().parents


def _output_folders(files: list[Path], outdir: Path) -> list[Path]:
    """One subfolder per file, named by its stem (-2, -3, ... for repeated stems)."""
    seen: dict[str, int] = {}
    folders = []
    for f in files:
        n = seen[f.stem] = seen.get(f.stem, 0) + 1
        folders.append(outdir / (f.stem if n == 1 else f"{f.stem}-{n}"))
    return folders


def enhance_many(
    inputs: Iterable[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    on_file: Callable[[int, int, Path, dict | None], None] | None = None,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    face_range: tuple[float, float] | None = None,
    workers: int = 1,
    ray: str | None = None,
    on_cluster: Callable[[dict], None] | None = None,
    **options,
) -> list[dict]:
    """:func:`vidsr.pipeline.enhance_video` for every video of ``inputs`` (files, folders, globs), each
    into ``outdir/<stem>/``, with the model and the detector loaded once.

    A file whose report already exists is skipped (so an interrupted run resumes); a file
    that fails (:class:`VidsrError`) is reported and the others go on. A single video that
    is not a readable one (missing, empty, another kind of file) raises MediaError instead,
    before anything is written. ``on_file(i, n,
    path, result)`` is called before (result None) and after each file. Returns one dict
    per file: input, folder, status ("ok", "no faces", "skipped", "failed"), message,
    tracks, frames, seconds, report (the report's path), faces (per enhanced track: id,
    box, frames, voice_frames, speech); busy: True when the file failed
    because another run is writing its folder at the same time.

    ``workers`` > 1: that many processes, each with the model and the detector loaded once
    and this process's threads shared among them, take the videos one at a time (on 2 CPU
    cores, two one-thread workers measured 0-14 % faster than one two-thread process:
    research/benchmarks.md); the model is loaded here too, first, so that bad weights fail as one error; the
    ``progress`` and ``warn`` callbacks are then not called (warnings are in each result's
    message) and ``on_file`` only as each video is done.

    ``ray``: on a Ray cluster instead ("local", "auto" or an address:
    :mod:`vidsr.pipeline.cluster`), the callbacks as with workers, and ``on_cluster(state)``
    with the cluster's progress (files done, failed, running, frames per second).
    """
    check_options(face_range=face_range, **options)
    if options.get("audio") is not None:
        from vidsr.media.probe import check_readable

        check_readable(options["audio"])
    outdir = Path(outdir)
    # Our own outputs are not inputs (an output folder inside an input folder); other
    # videos in the output folder are (`vidsr enhance clip.mp4 -o .`).
    files = [f for f in expand_inputs(inputs) if not is_output(f, outdir)]
    if not files:
        raise VidsrError("no videos found in the given inputs")
    jobs = list(zip(files, _output_folders(files, outdir)))
    if ray is not None:
        from vidsr.pipeline.cluster import enhance_on_ray

        return enhance_on_ray(jobs, ray, on_file=on_file, on_cluster=on_cluster, weights=weights, device=device,
                              face_range=face_range, options=options)
    if len(jobs) == 1 and not (jobs[0][1] / f"{files[0].stem}.report.json").exists():
        probe_video(files[0])  # a lone bad video is bad input: one error, before anything is loaded or written
    model = load_model(weights, device)  # with workers too: bad weights fail here, as one error
    if workers > 1 and len(jobs) > 1:
        del model
        return _enhance_in_workers(jobs, on_file, min(workers, len(jobs)), weights, device, face_range, options)
    detector = make_detector(model_device(model), face_range)
    results = []
    for i, (f, folder) in enumerate(jobs):
        if on_file:
            on_file(i, len(jobs), f, None)
        results.append(enhance_one(f, folder, model, detector, face_range, options))
        if on_file:
            on_file(i, len(jobs), f, results[-1])
        gc.collect()
    return results


def new_result(f: Path, folder: Path, status: str = "skipped", message: str = "") -> dict:
    """The result dict of :func:`enhance_many` for ``f`` before its run."""
    return {"input": str(f), "folder": str(folder), "status": status, "message": message,
            "tracks": None, "frames": None, "seconds": 0.0, "report": str(folder / f"{f.stem}.report.json")}


def enhance_one(f: Path, folder: Path, model, detector, face_range, options: dict) -> dict:
    """One video into ``folder``: :func:`enhance_video`, or skipped (its report exists), or
    failed (a :class:`VidsrError`); the result dict of :func:`enhance_many`."""
    result = new_result(f, folder)
    report_path = Path(result["report"])
    started = time.perf_counter()
    if report_path.exists():
        result["message"] = "already done (its report exists)"
    else:
        try:
            report = enhance_checked(f, folder, model=model, detector=detector, face_range=face_range, **options)
        except FolderBusyError as e:  # another run is doing this file now: leave it alone
            result.update(status="failed", message=str(e), busy=True)
        except VidsrError as e:
            result.update(status="failed", message=str(e))
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if this run left it empty
        else:
            result.update(status=report["status"], tracks=report["tracks_enhanced"], frames=report["frames"],
                          message="; ".join(report["warnings"]),
                          faces=[{k: t.get(k) for k in ("id", "box", "frames", "voice_frames", "speech")}
                                 for t in report["tracks"] if t["enhanced"]])
    result["seconds"] = round(time.perf_counter() - started, 2)
    return result


# Workers: each process loads the model and the detector once and takes videos one at a
# time. Callbacks (per-frame progress, warnings) stay in the parent: a worker's warnings
# reach it in each result's message.
_worker: dict = {}


def _on_terminate(signum, frame) -> None:
    """A worker's SIGTERM (pool.terminate()): within a video, stop as Ctrl-C does, so that
    the video being written deletes its temporaries; between videos, just end."""
    from vidsr.media.ffmpeg import interrupt

    if _worker.get("busy"):
        interrupt()
    else:
        os._exit(130)


def worker_model(weights, device: str, face_range, threads: int) -> dict:
    """This process as a worker: ``threads`` threads, and the model and the detector, loaded
    on the first call (again only for other weights, device or face range); returns
    ``_worker`` (model, detector, loads: how often this process loaded them)."""
    key = (str(weights), device, face_range, threads)
    if _worker.get("key") != key:
        import cv2
        import torch

        torch.set_num_threads(threads)
        cv2.setNumThreads(threads)
        model = load_model(weights, device)
        _worker.update(key=key, model=model, detector=make_detector(model_device(model), face_range),
                       loads=_worker.get("loads", 0) + 1)
    return _worker


def _start_worker(weights, device: str, face_range, threads: int) -> None:
    # Ctrl-C is the parent's to handle: it stops the workers with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_terminate)
    worker_model(weights, device, face_range, threads)
    _worker["busy"] = False


def _worker_job(job: tuple) -> tuple[int, dict]:
    i, f, folder, face_range, options = job
    _worker["busy"] = True
    try:
        result = enhance_one(f, folder, _worker["model"], _worker["detector"], face_range, options)
    except KeyboardInterrupt:  # terminated: the temporaries are deleted; end without a traceback
        os._exit(130)
    _worker["busy"] = False
    gc.collect()
    return i, result


def _enhance_in_workers(jobs: list, on_file, workers: int, weights, device: str, face_range, options: dict) -> list[dict]:
    """:func:`enhance_many`'s loop over ``workers`` processes (spawned), the threads of this
    one shared among them; ``on_file(i, n, path, result)`` as each video is done, in the
    order they finish (not called before each)."""
    import multiprocessing as mp

    import torch

    options = {k: v for k, v in options.items() if k not in ("progress", "warn")}
    threads = max(1, torch.get_num_threads() // workers)
    results: list = [None] * len(jobs)
    pool = mp.get_context("spawn").Pool(workers, _start_worker, (weights, device, face_range, threads))
    try:
        tasks = [(i, f, folder, face_range, options) for i, (f, folder) in enumerate(jobs)]
        for i, result in pool.imap_unordered(_worker_job, tasks):
            results[i] = result
            if on_file:
                on_file(i, len(jobs), jobs[i][0], result)
        pool.close()
    except BaseException:
        pool.terminate()  # each worker deletes the temporaries of the video it was writing
        raise
    finally:
        pool.join()
    return results
