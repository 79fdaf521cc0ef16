"""Defects a battery of bad inputs and faults found, each kept fixed by a test: runs into one
folder, killed runs, short and truncated clips, option values, output sizes, resumed logs,
folders with a bad picture, corrupt shards.

The face clips are cut from the example clip (``examples/astronaut.mp4``: a 10 px face, 150
frames, with sound), so no shared data is needed; the model is conftest's tiny one.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import synthetic_face
from vidsr.errors import FolderBusyError, VidsrError
from vidsr.faces import track_video
from vidsr.files import folder_lock, is_partial
from vidsr.media import run_ffmpeg
from vidsr.pipeline import default_scale, enhance_many, enhance_video

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "astronaut.mp4"


@pytest.fixture(scope="module")
def short_clips(tmp_path_factory) -> dict[str, Path]:
    """The example's first 1 and 10 frames (with sound), and its first 20 KB (truncated)."""
    folder = tmp_path_factory.mktemp("short")
    out = {}
    for n in (1, 10):
        out[n] = folder / f"first{n}.mp4"
        run_ffmpeg(["-i", str(EXAMPLE), "-frames:v", str(n), "-c:a", "copy", "-y", str(out[n])])
    out["truncated"] = folder / "truncated.mp4"
    out["truncated"].write_bytes(EXAMPLE.read_bytes()[:20_000])
    return out


def partials(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if is_partial(p.name)]


# ------------------------------------------------------------------------ short clips


@pytest.mark.parametrize("frames", [1, 10])
def test_a_face_in_a_short_clip_is_found(short_clips, detector, frames):
    tracks = track_video(short_clips[frames], detect_every=5, detector=detector)
    assert len(tracks) == 1 and tracks[0].frames == list(range(frames))


def test_a_truncated_video_is_warned_about(short_clips, model, detector, tiny_weights, tmp_path):
    warnings: list[str] = []
    report = enhance_video(short_clips["truncated"], tmp_path, model=model, detector=detector,
                           weights=tiny_weights, warn=warnings.append)
    read, expected = report["input"]["frames_read"], report["input"]["frames_expected"]
    assert 0 < read < expected == 150
    assert any(f"only {read} of the {expected} frames" in w for w in warnings)
    assert report["warnings"] == warnings


# ---------------------------------------------------------------- one output folder


def test_a_second_run_into_a_busy_folder_fails_at_once_and_keeps_the_first(short_clips, tiny_weights, tmp_path):
    clip = short_clips[10]
    out = tmp_path / "out"
    with folder_lock(out / clip.stem):  # another run is writing this video's folder
        (result,) = enhance_many([clip], out, weights=tiny_weights, device="cpu")
        assert result["status"] == "failed" and result["busy"] and "already being written" in result["message"]
    (result,) = enhance_many([clip], out, weights=tiny_weights, device="cpu")
    assert result["status"] == "ok"
    assert sorted(p.name for p in (out / clip.stem).iterdir()) == [
        "first10.overlay.mp4", "first10.report.json", "first10.track-0.mp4"]  # no lock, no temporaries
    with folder_lock(out / "x"):
        with pytest.raises(FolderBusyError):
            with folder_lock(out / "x"):
                pass


def test_two_workers_do_what_one_process_does(short_clips, tiny_weights, tmp_path):
    clips = [short_clips[1], short_clips[10], short_clips["truncated"]]
    one = enhance_many(clips, tmp_path / "one", weights=tiny_weights, device="cpu")
    done: list[str] = []
    two = enhance_many(clips, tmp_path / "two", weights=tiny_weights, device="cpu", workers=2,
                       on_file=lambda i, n, path, result: done.append(path.name) if result else None)
    assert sorted(done) == sorted(c.name for c in clips)  # each video reported once, as it is done
    keys = ("input", "status", "message", "tracks", "frames", "faces")
    assert [{k: r.get(k) for k in keys} for r in two] == [{k: r.get(k) for k in keys} for r in one]
    for r in two:
        folder = Path(r["folder"])
        assert folder.parent == tmp_path / "two"
        if r["status"] == "ok":
            names = sorted(p.name for p in folder.iterdir())
            assert names == sorted(p.name for p in (tmp_path / "one" / folder.name).iterdir())
    assert not partials(tmp_path)
    again = enhance_many(clips, tmp_path / "two", weights=tiny_weights, device="cpu", workers=2)
    assert [r["status"] for r in again] == ["skipped"] * 3


def test_workers_with_bad_weights_fail_as_one_error(short_clips, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    with pytest.raises(VidsrError):
        enhance_many([short_clips[1], short_clips[10]], tmp_path / "out", weights=bad, device="cpu", workers=2)


def test_summaries_of_two_runs_into_one_folder_keep_both(tmp_path):
    from vidsr.cli.enhance import write_summary

    def row(name: str, status: str, **extra) -> dict:
        return {"input": name, "folder": "", "status": status, "message": "", "tracks": 1, "frames": 10,
                "seconds": 1.0, "report": "", **extra}

    write_summary(tmp_path, [row("a.mp4", "ok")])
    write_summary(tmp_path, [row("b.mp4", "ok"), row("a.mp4", "failed", busy=True)])
    summary = (tmp_path / "summary.md").read_text()
    assert "| a.mp4 | 1 | 10 | ok |" in summary and "| b.mp4 | 1 | 10 | ok |" in summary
    assert [r["input"] for r in json.loads((tmp_path / "summary.json").read_text())["files"]] == ["a.mp4", "b.mp4"]


def test_stale_temporaries_are_swept_by_the_next_run(short_clips, tiny_weights, tmp_path):
    clip = short_clips[10]
    folder = tmp_path / clip.stem
    folder.mkdir()
    stale = [folder / ".first10.overlay.mp4.partial.mp4", folder / ".first10.report.json.partial",
             folder / ".first10.track-0.mp4.muxing.mp4"]  # what kill -9 leaves
    for p in stale:
        p.write_bytes(b"x" * 1000)
    keep = folder / "notes.txt"
    keep.write_text("mine")
    (result,) = enhance_many([clip], tmp_path, weights=tiny_weights, device="cpu")
    assert result["status"] == "ok" and not partials(tmp_path) and keep.read_text() == "mine"


def test_sigterm_removes_the_temporaries(short_clips, tiny_weights, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "vidsr", "enhance", str(EXAMPLE), "-o", str(out), "--weights",
                             str(tiny_weights), "--device", "cpu", "--detect-every", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.time() + 240
    while not partials(tmp_path) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert partials(tmp_path), "the run never wrote a temporary"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "vidsr: error: interrupted"
    assert not partials(tmp_path) and not list((out / "astronaut").glob("*.mp4"))


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_with_workers_stops_them_and_removes_the_temporaries(tiny_weights, tmp_path):
    videos = tmp_path / "in"
    videos.mkdir()
    for name in ("a.mp4", "b.mp4"):
        shutil.copy(EXAMPLE, videos / name)
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    proc = subprocess.Popen([sys.executable, "-m", "vidsr", "enhance", str(videos), "-o", str(out), "--weights",
                             str(tiny_weights), "--device", "cpu", "--detect-every", "10", "--workers", "2"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True,  # its own process group, as a terminal's job is
                            # and SIGINT handled as in a terminal: a shell's background job (CI started
                            # with `cmd &`) inherits it ignored, and then only ffmpeg would stop
                            preexec_fn=_sigint_default)
    deadline = time.time() + 240
    while not partials(out if out.exists() else tmp_path) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert partials(out), "the run never wrote a temporary"
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the parent and every worker
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "vidsr: error: interrupted", err
    assert "Traceback" not in err
    time.sleep(0.5)  # the workers' exits
    assert not partials(out) and not list(out.glob("*/*.mp4"))


def test_a_video_inside_the_output_folder_is_an_input(short_clips, tiny_weights, tmp_path, monkeypatch):
    shutil.copy(short_clips[10], tmp_path / "clip.mp4")
    monkeypatch.chdir(tmp_path)  # vidsr enhance clip.mp4 -o .
    (result,) = enhance_many(["clip.mp4"], ".", weights=tiny_weights, device="cpu")
    assert result["status"] == "ok" and (tmp_path / "clip" / "clip.overlay.mp4").is_file()
    # Its outputs are not inputs of the next run over the folder.
    results = enhance_many(["."], ".", weights=tiny_weights, device="cpu")
    assert [r["input"] for r in results] == ["clip.mp4"] and results[0]["status"] == "skipped"


# ------------------------------------------------------------------------ sizes


def test_a_scale_too_big_for_h264_is_refused_at_once(short_clips, model, detector, tmp_path):
    with pytest.raises(VidsrError, match=r"--scale 100 would make 64000x36000 frames"):
        enhance_video(short_clips[10], tmp_path / "out", scale=100, model=model, detector=detector)
    assert not partials(tmp_path) and not list((tmp_path / "out").glob("*/*.mp4"))


@pytest.mark.parametrize("size", [(640, 360), (608, 541), (541, 608), (1080, 1920), (1921, 1081)])
def test_the_default_scale_keeps_the_overlay_within_full_hd(size):
    w, h = size
    scale = default_scale(w, h, 64, [3.0])  # a tiny face asks for much more
    assert round(w * scale) <= max(1920, w) and round(h * scale) <= max(1080, h)


# ------------------------------------------------------------------------ training


def test_stats_do_not_repeat_steps_after_a_resume(tiny_set, tmp_path):
    from vidsr.train.api import train

    common = dict(preset="tiny", log_every=2, sample_every=1000, checkpoint_every=4)
    train("generator", tiny_set, tmp_path, steps=6, **common)
    # Killed after logging step 6 but before its checkpoint: the last one is step 4.
    (tmp_path / "generator" / "checkpoints" / "latest.json").write_text(json.dumps({"step": 4}))
    train("generator", tiny_set, tmp_path, steps=8, resume=True, **common)
    steps = [json.loads(line)["step"] for line in (tmp_path / "generator" / "stats.jsonl").read_text().splitlines()]
    assert steps == [2, 4, 6, 8]


def test_a_corrupt_shard_is_one_line_naming_it(tiny_set, tmp_path, capsys):
    from vidsr.train.api import train

    from test_cli import run_main

    broken = tmp_path / "set"
    shutil.copytree(tiny_set, broken)
    shard = sorted((broken / "shards").glob("*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(VidsrError, match=f"corrupt shard {shard}"):
        train("lowres", broken, tmp_path / "runs", preset="tiny", steps=2)
    code, _, err = run_main(capsys, "evaluate", "--data", str(broken), "-o", str(tmp_path / "report"))
    assert code == 2 and err.count("\n") == 1 and f"corrupt shard {shard}" in err


def test_prepare_on_non_images_is_one_line_and_leaves_no_set(tmp_path, capsys):
    from test_cli import run_main

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a picture")
    (folder / "b.jpg").write_text("not a picture either")
    (folder / "30_0_0_20170101.jpg").write_bytes(b"\xff\xd8 truncated")  # a labelled name, no picture
    out = tmp_path / "set"
    code, _, err = run_main(capsys, "prepare", str(folder), "-o", str(out), "--voices", "made")
    assert code == 2 and err.count("\n") == 1
    assert "no usable samples" in err and "unreadable image (2)" in err
    assert not out.exists()


# ------------------------------------------------------------------------ pictures


def test_image_folder_goes_on_past_a_bad_picture(tiny_weights, tmp_path, capsys):
    from test_cli import run_main

    faces = tmp_path / "faces"
    faces.mkdir()
    rng = np.random.default_rng(0)
    for name in ("a", "c"):
        cv2.imwrite(str(faces / f"{name}.png"), cv2.cvtColor(synthetic_face(rng, 64), cv2.COLOR_RGB2BGR))
    (faces / "b.png").write_text("not a picture")
    out = tmp_path / "out"
    code, _, err = run_main(capsys, "image", str(faces), "-o", str(out), "--weights", str(tiny_weights), "--device", "cpu")
    assert code == 1 and "b.png" in err and "1 of 3 picture(s)" in err
    assert sorted(p.name for p in out.glob("*.png")) == ["a.png", "c.png"]
