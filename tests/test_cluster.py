"""`vidsr enhance --ray`: the videos over a Ray cluster, with a local run's outputs and
guarantees; workers killed mid-file; Ctrl-C.

The ``cluster`` fixture starts a local Ray cluster of 2 CPUs in this process (the runs join
it) and stops it after the module's tests. The clips are cut from the example clip
(``examples/astronaut.mp4``: a 10 px face, 150 frames, with sound); the model is conftest's
tiny one. Without Ray (an optional extra) the tests that need it skip, with one reason; the
one-line error that says how to install it is tested either way.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import needs_ray
from test_battery import partials
from test_cli import run_main
from test_enhance import cli_app, sha
from vidsr.cli.options import bare_ray
from vidsr.media import run_ffmpeg
from vidsr.pipeline import enhance_many

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.mp4"
OUTPUTS = ("{}.overlay.mp4", "{}.report.json", "{}.track-0.mp4")


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster of 2 CPUs, with the dashboard (the state API), stopped at the end."""
    import ray

    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=True, logging_level="ERROR",
             log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def cut(path: Path, start: float, frames: int) -> Path:
    """``frames`` frames of the example from ``start`` seconds, with its sound."""
    run_ffmpeg(["-ss", str(start), "-i", str(EXAMPLE), "-frames:v", str(frames), "-y", str(path)])
    return path


def done_files(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def in_background(tmp_path: Path, names: str, weights: Path) -> tuple[Path, threading.Thread, dict]:
    """:func:`enhance_many` over the cluster, in a thread, of one 60-frame clip per letter of
    ``names``, into ``tmp_path/out``: (out, the thread, a dict that gets its results (or
    its exception) and the cluster's states)."""
    videos = tmp_path / "in"
    videos.mkdir()
    for name in names:
        cut(videos / f"{name}.mp4", 0, 60)
    out, box = tmp_path / "out", {"states": []}

    def run() -> None:
        try:
            box["results"] = enhance_many([videos], out, weights=weights, device="cpu", detect_every=10, ray="local",
                                          on_cluster=box["states"].append)
        except BaseException as e:  # noqa: BLE001 - the test reports it
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return out, thread, box


def finished(thread: threading.Thread, box: dict) -> list[dict]:
    """The results of the run of :func:`in_background`, once it ends."""
    thread.join(timeout=300)
    assert not thread.is_alive() and "error" not in box, box.get("error")
    return box["results"]


def kill_worker_writing(out: Path, name: str | None = None, attempt: int = 0, timeout: float = 240) -> tuple[str, int]:
    """SIGKILL the Ray worker (its pid from Ray's state API) running the file ``name`` (any,
    if None) at ``attempt`` while its ffmpeg writes the outputs' temporaries; (name, pid)."""
    import psutil
    from ray.util.state import list_tasks

    deadline = time.time() + timeout
    while time.time() < deadline:
        for task in list_tasks(filters=[("state", "=", "RUNNING")], detail=True):
            stem = Path(task.name.removeprefix("vidsr enhance ")).stem
            if not task.name.startswith("vidsr enhance ") or (name and task.name != name) or task.attempt_number != attempt:
                continue
            with_partials = partials(out / stem) if (out / stem).is_dir() else []
            try:  # the worker's own ffmpeg is writing them (not a stale state record)
                writing = with_partials and any(str(out / stem) in " ".join(c.cmdline())
                                                for c in psutil.Process(task.worker_pid).children(recursive=True))
            except psutil.Error:
                writing = False
            if writing:
                os.kill(task.worker_pid, signal.SIGKILL)
                return task.name, task.worker_pid
        time.sleep(0.1)
    raise AssertionError(f"no worker was seen writing {name or 'a file'} (attempt {attempt})")


def attempts(name: str) -> set[tuple[int, str]]:
    """(attempt number, state) of the tasks named ``name``, as Ray's state API has them."""
    from ray.util.state import list_tasks

    return {(t.attempt_number, t.state) for t in list_tasks(filters=[("name", "=", name)])}


# ------------------------------------------------------------------------ the command line


def test_a_bare_ray_option_starts_a_local_cluster():
    assert bare_ray(["enhance", "a.mp4", "--ray"]) == ["enhance", "a.mp4", "--ray", "local"]
    assert bare_ray(["enhance", "--ray", "a.mp4", "-o", "x"]) == ["enhance", "--ray", "local", "a.mp4", "-o", "x"]
    assert bare_ray(["enhance", "--ray", "-o", "x", "a.mp4"]) == ["enhance", "--ray", "local", "-o", "x", "a.mp4"]
    for address in ("auto", "local", "10.0.0.1:6379", "ray://head:10001"):
        assert bare_ray(["enhance", "a.mp4", "--ray", address]) == ["enhance", "a.mp4", "--ray", address]
    assert bare_ray(["enhance", "--", "--ray"]) == ["enhance", "--", "--ray"]  # an input named --ray


def test_without_ray_the_option_is_a_one_line_error(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray: ImportError, as without the extra
    code, _, err = run_main(capsys, "enhance", str(EXAMPLE), "-o", str(tmp_path / "out"), "--ray")
    assert code == 2 and err.strip().splitlines()[-1] == 'vidsr: error: --ray needs Ray, an optional extra: pip install "vidsr[ray]"'
    assert "Traceback" not in err and not (tmp_path / "out").exists()


def test_tasks_take_a_gpu_each_where_the_cluster_has_gpus():
    from vidsr.errors import VidsrError
    from vidsr.pipeline.cluster import slots, task_resources

    class Cluster:  # what the two functions ask of the ray module
        def __init__(self, gpus: int):
            self.resources = {"CPU": 16.0, "GPU": float(gpus)}

        def cluster_resources(self) -> dict:
            return self.resources

    gpu, cpu = task_resources(Cluster(2), "auto"), task_resources(Cluster(0), "auto")
    assert gpu == {"num_cpus": 1, "num_gpus": 1, "device": "cuda"} and task_resources(Cluster(2), "cuda:1") == gpu
    assert cpu == {"num_cpus": 1, "num_gpus": 0, "device": "cpu"} == task_resources(Cluster(2), "cpu")
    assert slots(Cluster(2), gpu) == 2 and slots(Cluster(2), cpu) == 16
    with pytest.raises(VidsrError, match="the Ray cluster has no GPUs"):
        task_resources(Cluster(0), "cuda")


# ------------------------------------------------------------------------ on the cluster


@needs_ray
def test_a_cluster_run_gives_a_local_runs_outputs(cluster, tiny_weights, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    for i in range(5):
        cut(videos / f"c{i}.mp4", i * 0.8, 10)
    (videos / "corrupt.mp4").write_text("this is not a video\n")
    app = cli_app()
    outs = {}
    for name, extra in (("local", []), ("ray", ["--ray", "local"])):  # "local": the cluster of this process
        out = outs[name] = tmp_path / name
        enhance_many([videos / "c4.mp4"], out, weights=tiny_weights, device="cpu", detect_every=10)  # done before
        stamp = (out / "c4" / "c4.report.json").stat().st_mtime_ns
        result = CliRunner().invoke(app, ["enhance", str(videos), "-o", str(out), "--weights", str(tiny_weights),
                                          "--device", "cpu", "--detect-every", "10", *extra])
        assert result.exit_code == 1, result.output
        errors = [line for line in result.stderr.splitlines() if line.startswith("vidsr: error:")]
        assert len(errors) == 2 and "corrupt.mp4" in errors[0] and "Invalid data" in errors[0], result.stderr
        assert "1 of 6 file(s) failed" in errors[1] and "Traceback" not in result.output
        assert (out / "c4" / "c4.report.json").stat().st_mtime_ns == stamp  # resumed: not done again
        rows = {Path(r["input"]).name: r["status"] for r in json.loads((out / "summary.json").read_text())["files"]}
        assert rows == {"c0.mp4": "ok", "c1.mp4": "ok", "c2.mp4": "ok", "c3.mp4": "ok", "c4.mp4": "skipped",
                        "corrupt.mp4": "failed"}

    local, ray = outs["local"], outs["ray"]
    assert done_files(ray) == done_files(local) == sorted(
        [f"c{i}/{name.format(f'c{i}')}" for i in range(5) for name in OUTPUTS] + ["summary.json", "summary.md"])
    for video in local.rglob("*.mp4"):
        assert sha(video) == sha(ray / video.relative_to(local)), video  # bit for bit
    for report in local.rglob("*.report.json"):
        a, b = (json.loads(p.read_text()) for p in (report, ray / report.relative_to(local)))
        assert a.pop("timings_s") and b.pop("timings_s") and a == b

    def rows(out: Path) -> list[dict]:  # timings aside
        text = (out / "summary.json").read_text().replace(str(out), "OUT")
        return [{k: v for k, v in r.items() if k != "seconds"} for r in json.loads(text)["files"]]

    def table(out: Path) -> list[str]:  # the seconds column aside
        text = (out / "summary.md").read_text().replace(str(out), "OUT")
        return ["|".join(cell for i, cell in enumerate(line.split("|")) if i != 5) for line in text.splitlines()]

    assert rows(ray) == rows(local) and table(ray) == table(local)


@needs_ray
def test_a_worker_killed_mid_file_has_its_file_done_on_another(cluster, tiny_weights, tmp_path):
    out, thread, box = in_background(tmp_path, "abcd", tiny_weights)
    killed, pid = kill_worker_writing(out)
    results = finished(thread, box)
    assert not psutil_alive(pid)
    assert [(Path(r["input"]).name, r["status"]) for r in results] == [(f"{n}.mp4", "ok") for n in "abcd"]
    assert done_files(out) == sorted(f"{n}/{name.format(n)}" for n in "abcd" for name in OUTPUTS)  # each once, whole
    assert not partials(out)
    state = box["states"][-1]
    assert state["done"] == 4 and state["failed"] == state["running"] == 0 and state["frames"] == 4 * 60
    assert state["model_loads"] == state["workers"] >= 2  # once per worker, not per file
    deadline = time.time() + 30  # the state API lags a little
    while (1, "FINISHED") not in attempts(killed) and time.time() < deadline:
        time.sleep(0.5)
    assert (1, "FINISHED") in attempts(killed)  # run again (a second attempt), on another worker


@needs_ray
def test_a_file_whose_worker_dies_twice_is_reported_failed(cluster, tiny_weights, tmp_path):
    out, thread, box = in_background(tmp_path, "ab", tiny_weights)
    killed, _ = kill_worker_writing(out, "vidsr enhance a.mp4", attempt=0)
    kill_worker_writing(out, killed, attempt=1)
    a, b = finished(thread, box)
    assert a["status"] == "failed" and "died twice" in a["message"] and b["status"] == "ok"
    time.sleep(1)  # the killed workers' ffmpeg children end
    assert done_files(out) == sorted(f"b/{name.format('b')}" for name in OUTPUTS)  # a's folder swept away
    assert box["states"][-1]["failed"] == 1


@needs_ray
def test_ctrl_c_cancels_the_clusters_tasks_and_keeps_the_finished_files(cluster, tiny_weights, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    cut(videos / "a.mp4", 0, 5)  # done first
    for name in "bc":
        shutil.copy(EXAMPLE, videos / f"{name}.mp4")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "vidsr", "enhance", str(videos), "-o", str(out), "--weights",
                             str(tiny_weights), "--device", "cpu", "--detect-every", "10", "--ray", cluster],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True, preexec_fn=_sigint_default)  # as a terminal's job
    deadline = time.time() + 240
    while not ((out / "a" / "a.report.json").exists() and partials(out)) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert partials(out), "the run never wrote a temporary"
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the driver; the cluster's workers are not in its group
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "vidsr: error: interrupted", err
    assert "Traceback" not in err
    assert not partials(out) and not list(out.glob("[bc]/*.mp4"))  # the cancelled tasks deleted theirs
    assert done_files(out) == sorted(f"a/{name.format('a')}" for name in OUTPUTS)


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def psutil_alive(pid: int) -> bool:
    import psutil

    return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
