"""Many videos over a Ray cluster: what `vidsr enhance --ray [ADDRESS]` runs
(:func:`vidsr.pipeline.enhance_many` with ``ray``).

Each video is one Ray task, running :func:`vidsr.pipeline.many` 's per-file function in a
Ray worker process; the model and the detector are loaded once per worker process (kept
between its tasks), not once per file. A task takes one CPU, or one GPU where the cluster
has GPUs (``--device auto`` or ``cuda``). The driver (this process) keeps as many tasks in
flight as the cluster has CPUs (GPUs), so "running" means running and Ctrl-C has little to
cancel. Everything a local run guarantees holds, because the workers run the same code on
the same (shared) files: the per-video folders and their lock, resume, fail-soft, atomic
outputs. What the cluster adds:

- a worker (or node) that dies mid-file has its file run again, once, on another worker
  (Ray's ``max_retries=1``; the retry sweeps what the dead one left, under the folder's
  lock); if that one dies too the file is reported as failed and its folder swept;
- an error that is not the input's (a bug, a node's full disk) fails that file, not the run;
- Ctrl-C (or SIGTERM) cancels the running tasks as Ctrl-C stops a local run (each deletes
  the temporaries it was writing), keeps the finished files and ends with KeyboardInterrupt.

Inputs and outputs must be on storage every node sees at the same path (a shared mount):
each task runs in the driver's working folder, so relative paths mean what they mean here.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from pathlib import Path
from typing import Callable

from vidsr.errors import VidsrError

RAY_EXTRA = 'pip install "vidsr[ray]"'
CANCEL_WAIT_S = 30.0  # how long Ctrl-C waits for the cancelled tasks to delete their temporaries


def import_ray():
    """The ``ray`` module; VidsrError (one line) when the optional extra is not installed."""
    try:
        import ray
    except ImportError:
        raise VidsrError(f"--ray needs Ray, an optional extra: {RAY_EXTRA}") from None
    return ray


def connect(ray, address: str) -> bool:
    """Join the cluster at ``address`` ("local": start one on this machine; "auto": the one
    `ray start` runs here; "HOST:PORT" or "ray://HOST:PORT": that one), unless this process
    is connected to one already (which is then used). Returns whether this call connected
    (and so :func:`ray.shutdown` is ours to call)."""
    if ray.is_initialized():
        return False
    try:
        with _quiet(address != "local"):
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    except ConnectionError as e:
        raise VidsrError(f"--ray {address}: no Ray cluster there ({str(e).splitlines()[0]}); "
                         "start one with `ray start --head` (docs/cluster.md)") from None
    except ValueError as e:  # a malformed address
        raise VidsrError(f"--ray {address}: {str(e).splitlines()[0]}") from None
    return True


@contextlib.contextmanager
def _quiet(joining: bool):
    """Ray's own warnings while it looks for a cluster (once a second, some from its C++
    core, straight to file descriptor 2) are not the user's: one line says what went wrong.
    Not while starting a local cluster: its processes would keep the stand-in stderr."""
    import tempfile
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not joining:
            yield
            return
        saved = os.dup(2)
        with tempfile.TemporaryFile() as sink:
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)


def task_resources(ray, device: str) -> dict:
    """One task's resources: a GPU where the cluster has them and ``device`` allows it (then
    the task's device is "cuda": Ray hands each task its own GPU), a CPU otherwise."""
    gpus = ray.cluster_resources().get("GPU", 0)
    if device == "cpu" or (device == "auto" and not gpus):
        return {"num_cpus": 1, "num_gpus": 0, "device": "cpu"}
    if not gpus:
        raise VidsrError(f"--device {device} asked for, but the Ray cluster has no GPUs")
    return {"num_cpus": 1, "num_gpus": 1, "device": "cuda"}


def slots(ray, resources: dict) -> int:
    """How many tasks the cluster runs at once now (nodes may come and go)."""
    total = ray.cluster_resources()
    kind, need = ("GPU", resources["num_gpus"]) if resources["num_gpus"] else ("CPU", resources["num_cpus"])
    return max(1, int(total.get(kind, 0) // need))


def run_file(cwd: str, f: Path, folder: Path, weights, device: str, face_range, options: dict) -> tuple[dict, dict]:
    """The Ray task: one video, as a local run does it, with this worker's model (loaded on
    its first file). Returns the result of :func:`enhance_many` and this worker's node, pid
    and model loads so far."""
    from vidsr.pipeline import many

    if not os.path.isdir(cwd):
        raise VidsrError(f"the folder '{cwd}' the run started in is not on this node: inputs and outputs "
                         "must be on storage every node sees at the same path (docs/cluster.md)")
    os.chdir(cwd)
    worker = many.worker_model(weights, device, face_range, threads=1)
    result = many.enhance_one(f, folder, worker["model"], worker["detector"], face_range, options)
    gc.collect()
    import ray

    return result, {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid(), "loads": worker["loads"]}


def enhance_on_ray(jobs: list[tuple[Path, Path]], address: str, *, on_file=None,
                   on_cluster: Callable[[dict], None] | None = None, weights=None, device: str = "auto",
                   face_range=None, options: dict) -> list[dict]:
    """:func:`enhance_many`'s loop over a Ray cluster (see the module's notes): ``jobs`` are
    (video, output folder); ``on_file(i, n, path, result)`` as each video is done, in the
    order they finish; ``on_cluster(state)`` whenever the state changes: total, done, failed,
    running, frames (of the files done), fps (frames per second over the cluster since the
    first task started), workers (processes that finished a file), model_loads (by them)."""
    from vidsr.pipeline.model import load_model

    ray = import_ray()
    load_model(weights, "cpu")  # bad weights fail here, as one error, before the cluster starts
    options = {k: v for k, v in options.items() if k not in ("progress", "warn")}
    started_here = connect(ray, address)
    try:
        resources = task_resources(ray, device)
        # max_calls=0: a GPU worker too keeps running tasks (and its model), as CPU workers do
        task = ray.remote(num_cpus=resources["num_cpus"], num_gpus=resources["num_gpus"], max_retries=1,
                          retry_exceptions=False, max_calls=0)(run_file)
        return _run(ray, task, jobs, resources["device"], on_file, on_cluster, weights, face_range, options,
                    lambda: slots(ray, resources))
    finally:
        if started_here:
            ray.shutdown()


def _run(ray, task, jobs, device, on_file, on_cluster, weights, face_range, options, capacity) -> list[dict]:
    cwd = os.getcwd()
    results: list = [None] * len(jobs)
    waiting = list(range(len(jobs)))[::-1]  # popped from the end: in order
    running: dict = {}  # ObjectRef -> job index
    workers: dict = {}  # (node, pid) -> model loads
    state = {"total": len(jobs), "done": 0, "failed": 0, "running": 0, "frames": 0, "fps": 0.0,
             "workers": 0, "model_loads": 0}
    first = time.perf_counter()
    try:
        while waiting or running:
            while waiting and len(running) < capacity():
                i = waiting.pop()
                f, folder = jobs[i]
                ref = task.options(name=f"vidsr enhance {f.name}").remote(cwd, f, folder, weights, device,
                                                                          face_range, options)
                running[ref] = i
            state["running"] = len(running)
            if on_cluster:
                on_cluster(dict(state))
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)
            for ref in ready:
                i = running.pop(ref)
                results[i], worker = _outcome(ray, ref, *jobs[i])
                if worker:
                    workers[worker["node"], worker["pid"]] = worker["loads"]
                r = results[i]
                state["done"] += 1
                state["failed"] += r["status"] == "failed"
                state["frames"] += (r["frames"] or 0) if r["status"] != "skipped" else 0
                state.update(fps=round(state["frames"] / (time.perf_counter() - first), 2),
                             workers=len(workers), model_loads=sum(workers.values()))
                if on_file:
                    on_file(i, len(jobs), jobs[i][0], r)
        state["running"] = 0
        if on_cluster:
            on_cluster(dict(state))
    except BaseException:  # Ctrl-C, SIGTERM: cancel, as a local run stops; keep what is done
        _cancel(ray, list(running))
        raise
    return results


def _outcome(ray, ref, f: Path, folder: Path) -> tuple[dict, dict | None]:
    """A finished task's result and worker; a task that failed (its worker died twice, or an
    error that is not the input's) as a failed file."""
    from vidsr.pipeline.many import new_result

    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as e:  # raised in the task: not the input's fault, or not on shared storage
        cause = e.cause if isinstance(getattr(e, "cause", None), BaseException) else e
        text = str(cause).strip().splitlines()
        message = text[0] if isinstance(cause, VidsrError) else f"{type(cause).__name__}: {text[0] if text else ''}"
    except ray.exceptions.RayError as e:  # the worker or its node died, twice (Ray ran it again once)
        message = f"the Ray worker enhancing it died twice, the second time on a retry ({type(e).__name__})"
    _sweep(folder)
    return new_result(f, folder, "failed", message), None


def _sweep(folder: Path) -> None:
    """What a dead worker left in ``folder``: its temporaries (swept under the folder's lock),
    and the folder itself if that leaves it empty."""
    from vidsr.errors import FolderBusyError
    from vidsr.files import folder_lock

    if not folder.is_dir():
        return
    with contextlib.suppress(FolderBusyError):
        with folder_lock(folder):
            pass
    with contextlib.suppress(OSError):
        folder.rmdir()


def _cancel(ray, refs: list) -> None:
    """Cancel ``refs`` as Ctrl-C stops a local run (KeyboardInterrupt in each task: the
    video being written deletes its temporaries); after CANCEL_WAIT_S, kill what is left."""
    if not refs:
        return
    for ref in refs:
        with contextlib.suppress(Exception):
            ray.cancel(ref)
    with contextlib.suppress(Exception):
        _, left = ray.wait(refs, num_returns=len(refs), timeout=CANCEL_WAIT_S)
        for ref in left:
            ray.cancel(ref, force=True)
