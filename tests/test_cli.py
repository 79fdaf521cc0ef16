"""The command line as a user meets it: version, doctor, help, and errors as one line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from vidsr import __version__

COMMANDS = ("enhance", "image", "mix", "detect", "prepare", "train", "export", "evaluate", "doctor")


def vidsr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidsr", *args], capture_output=True, text=True, timeout=300)


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    """``vidsr ARGS`` through the real entry point (vidsr.cli.app.main), in this process:
    (exit code, stdout, stderr)."""
    from vidsr.cli.app import main

    argv, sigterm = sys.argv, signal.getsignal(signal.SIGTERM)
    sys.argv = ["vidsr", *args]
    try:
        with pytest.raises(SystemExit) as exit_info:
            main()
    finally:
        sys.argv = argv
        signal.signal(signal.SIGTERM, sigterm)
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_version():
    r = vidsr("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"vidsr {__version__}"


def test_doctor_reports_ffmpeg_weights_and_versions(monkeypatch):
    import imageio_ffmpeg

    from vidsr.weights import default_weights_path

    monkeypatch.delenv("VIDSR_FFMPEG", raising=False)  # the default: the bundled binary
    r = vidsr("doctor")
    assert r.returncode == 0, r.stderr
    rows = {line.split("│")[1].strip(): line.split("│")[2].strip() for line in r.stdout.splitlines() if line.count("│") == 3}
    assert rows["ffmpeg"].startswith(imageio_ffmpeg.get_ffmpeg_exe() + " (bundled")
    assert rows["default weights"].startswith(f"ok ({default_weights_path()}, shipped")
    assert rows["MTCNN weights"].startswith("ok")
    from importlib.metadata import version

    for package in ("torch", "numpy", "safetensors", "imageio-ffmpeg"):
        assert rows[package] == version(package)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(capsys, command):
    code, out, _ = run_main(capsys, "--help")
    assert code == 0 and command in out
    code, out, err = run_main(capsys, command, "--help")
    assert code == 0 and "Usage" in out and err == ""


BAD = {
    "no command": ["nonsense"],
    "enhance device": ["enhance", "x.mp4", "--device", "tpu"],
    "enhance scale": ["enhance", "x.mp4", "--scale", "0"],
    "enhance batch": ["enhance", "x.mp4", "--batch", "0"],
    "enhance no input": ["enhance"],
    "image device": ["image", "x.png", "--device", "tpu"],
    "image missing": ["image", "{tmp}/missing.png"],
    "mix device": ["mix", "--faces", "a.png", "--voices", "b.wav", "--device", "tpu"],
    "mix nothing": ["mix", "--faces", "{tmp}", "--voices", "{tmp}"],
    "detect missing": ["detect", "{tmp}/missing.mp4"],
    "prepare missing": ["prepare", "{tmp}/missing", "-o", "{tmp}/set"],
    "train device": ["train", "--stage", "lowres", "--device", "tpu"],
    "train batch": ["train", "--stage", "lowres", "--batch", "0"],
    "train negative steps": ["train", "--stage", "lowres", "--steps", "-5"],
    "train zero steps": ["train", "--stage", "lowres", "--steps", "0"],
    "train stage": ["train", "--stage", "nonsense", "--preset", "tiny"],
    "train preset": ["train", "--stage", "generator", "--preset", "nope"],
    "train no data": ["train", "--stage", "generator", "--preset", "tiny", "--runs", "{tmp}/runs"],
    "train empty folder": ["train", "--stage", "generator", "--preset", "tiny", "--data", "{tmp}", "--runs", "{tmp}/runs"],
    "train not pictures": ["train", "--stage", "generator", "--preset", "tiny", "--data", "{tmp}/text", "--runs", "{tmp}/runs"],
    "train no set": ["train", "--stage", "lowres", "--preset", "tiny", "--data", "{tmp}/text", "--runs", "{tmp}/runs"],
    "train before generator": ["train", "--stage", "highres", "--preset", "tiny", "--data", "{tmp}/pics", "--runs", "{tmp}/runs"],
    "export empty": ["export", "--runs", "{tmp}", "-o", "{tmp}/m.safetensors"],
    "evaluate device": ["evaluate", "--data", "{tmp}", "--device", "tpu"],
    "evaluate no set": ["evaluate", "--data", "{tmp}/text", "-o", "{tmp}/report"],
    "doctor option": ["doctor", "--bogus"],
}

# What each line must say: the fault itself, not another one met first (a missing file
# named before the --device checked would also be one line).
SAYS = {
    "no command": "No such command", "enhance device": "'--device'", "enhance scale": "'--scale'",
    "enhance batch": "'--batch'", "enhance no input": "Missing argument", "image device": "'--device'",
    "image missing": "no such image", "mix device": "'--device'", "mix nothing": "at least one face",
    "detect missing": "no such file", "prepare missing": "does not exist", "train device": "'--device'",
    "train batch": "'--batch'", "train negative steps": "'--steps'", "train zero steps": "'--steps'",
    "train stage": "unknown stage", "train preset": "unknown preset", "train no data": "needs --data",
    "train empty folder": "no face images", "train not pictures": "readable picture",
    "train no set": "not a prepared set", "train before generator": "'generator' has not finished",
    "export empty": "not found", "evaluate device": "'--device'", "evaluate no set": "not a prepared set",
    "doctor option": "No such option",
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_and_exit_code_2(capsys, tmp_path, case):
    from PIL import Image

    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "face.jpg").write_text("not a picture\n")
    (tmp_path / "pics").mkdir()
    Image.new("RGB", (64, 64), (120, 90, 80)).save(tmp_path / "pics" / "face.png")
    code, out, err = run_main(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in BAD[case]))
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (case, code, err)
    assert len(lines) == 1 and lines[0].startswith("vidsr: error:") and "Traceback" not in err, (case, err)
    assert SAYS[case] in lines[0], (case, lines[0])
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_bad_input_in_a_real_process_is_one_line():
    r = vidsr("train", "--stage", "generator", "--preset", "tiny", "--device", "tpu")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("vidsr: error:"), r.stderr


@pytest.mark.parametrize("case", ["missing", "empty", "text"])
def test_a_lone_bad_video_is_bad_input_and_writes_nothing(capsys, tmp_path, case):
    """`vidsr enhance X` with X missing, 0 bytes or a text file named .mp4: exit 2, one line
    on stderr naming it, no output folder (and no model loaded first: it takes a moment)."""
    import time

    video = tmp_path / f"{case}.mp4"
    if case == "empty":
        video.write_bytes(b"")
    elif case == "text":
        video.write_text("not a video\n")
    started = time.perf_counter()
    code, out, err = run_main(capsys, "enhance", str(video), "-o", str(tmp_path / "out"))
    lines = err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("vidsr: error:") and str(video) in lines[0], err
    assert {"missing": "no such file", "empty": "empty (0 bytes)", "text": "cannot read video"}[case] in lines[0]
    assert not (tmp_path / "out").exists() and sorted(tmp_path.iterdir()) == ([] if case == "missing" else [video])
    assert time.perf_counter() - started < 10


def test_the_file_bar_runs_through_both_passes_with_time_left():
    """The per-file bar counts tracking and enhancing as halves of one task: it is not finished
    (its clock not stopped) between the passes, and both bars have a time remaining."""
    import io
    import time

    from rich.console import Console

    from vidsr.cli.progress import VideoBars, phase_share

    assert phase_share("tracking", 50, 100) == 0.25 and phase_share("enhancing", 50, 100) == 0.75
    assert phase_share("tracking", 100, 100) == 0.5 and phase_share("enhancing", 120, 100) == 1.0
    bars = VideoBars(Console(file=io.StringIO(), force_terminal=False))
    bars.file_started(0, 2, "a.mp4")
    for done in range(0, 101, 10):
        bars.progress("tracking", done, 100)
        time.sleep(0.01)
    task = bars.bars.tasks[bars.current]
    assert not task.finished and task.completed == 0.5
    before = task.elapsed
    time.sleep(0.05)
    bars.progress("enhancing", 10, 100)
    assert task.elapsed > before and task.time_remaining is not None
    overall = bars.bars.tasks[bars.overall]
    assert overall.completed == 0.55 and overall.total == 2 and overall.time_remaining is not None
    bars.file_done(2)
    bars.file_started(1, 2, "b.mp4")
    assert task.completed == 0 and not task.finished
    bars.stop()


def test_every_command_has_the_same_runs_default():
    import inspect
    from pathlib import Path

    from vidsr.cli.export import export
    from vidsr.cli.train import train
    from vidsr.models.runs import RUNS, default_runs

    for command in (train, export):
        assert inspect.signature(command).parameters["runs"].default.default == RUNS == default_runs(), command
    repository = Path(__file__).resolve().parents[1]
    assert "VIDSR_RUNS" in os.environ or repository not in RUNS.resolve().parents  # outside the repository by default


def test_runs_live_outside_the_repository(monkeypatch, tmp_path):
    from vidsr.models.runs import default_runs

    monkeypatch.setenv("VIDSR_RUNS", str(tmp_path / "mine"))
    assert default_runs() == tmp_path / "mine"
    monkeypatch.delenv("VIDSR_RUNS")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_runs() == tmp_path / "data" / "vidsr" / "runs"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_runs() == tmp_path / "home" / ".local" / "share" / "vidsr" / "runs"
