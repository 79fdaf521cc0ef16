"""The command line as a user meets it: version, doctor, help, and errors as one line."""

from __future__ import annotations

import subprocess
import sys

from vidsr import __version__


def vidsr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidsr", *args], capture_output=True, text=True, timeout=300)


def test_version():
    r = vidsr("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"vidsr {__version__}"


def test_doctor_reports_ffmpeg_and_mtcnn():
    r = vidsr("doctor")
    assert r.returncode == 0, r.stderr
    assert "ffmpeg" in r.stdout and "MTCNN weights" in r.stdout and "ok" in r.stdout


def test_every_command_has_help():
    r = vidsr("--help")
    for command in ("detect", "prepare", "train", "export", "doctor"):
        assert command in r.stdout
        assert vidsr(command, "--help").returncode == 0


def test_bad_input_is_one_line_not_a_traceback(tmp_path):
    cases = [
        ("detect", str(tmp_path / "missing.mp4")),
        ("train", "--stage", "nonsense", "--preset", "tiny"),
        ("train", "--stage", "generator", "--preset", "nope"),
        ("train", "--stage", "highres", "--preset", "tiny", "--runs", str(tmp_path)),
        ("export", "--runs", str(tmp_path), "-o", str(tmp_path / "m.safetensors")),
    ]
    for args in cases:
        r = vidsr(*args)
        assert r.returncode != 0, args
        assert "Traceback" not in r.stderr, (args, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("vidsr: error:"), (args, r.stderr)
