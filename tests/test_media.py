"""vidsr.media: probing, reading, writing videos and loading audio, with real ffmpeg.

Clips are made on the fly with ffmpeg's lavfi ``testsrc``; the real GRID clip comes
from the shared data folder (conftest.shared; the tests that need it are skipped without it).
"""

from __future__ import annotations

import os
import shutil
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from conftest import DATA, ffmpeg_option, ffmpeg_retimes, needs_shared
from vidsr.errors import MediaError, NoAudioError
from vidsr.media import (
    SAMPLE_RATE,
    VideoReader,
    VideoWriter,
    ffmpeg_exe,
    load_audio,
    probe,
    run_ffmpeg,
    save_wav,
)
from vidsr.media.ffmpeg import encoders, error_reason

GRID = DATA / "grid" / "bbaf2n.mpg"

needs_grid = needs_shared

CODECS = {
    "mp4": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "mkv": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "mov": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "avi": ["-c:v", "mpeg4"],
    "mpg": ["-c:v", "mpeg1video"],
    "webm": ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8"],
}


def make_clip(path: Path, *, seconds=0.4, size="64x48", rate=25, audio=False, codec=None, extra=()):
    """A lavfi testsrc clip (and a 440 Hz tone if ``audio``)."""
    args = ["-f", "lavfi", "-i", f"testsrc=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={seconds}"]
    args += [*extra, *(codec or CODECS[path.suffix[1:]]), "-y", str(path)]
    run_ffmpeg(args)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clips")
    return {ext: make_clip(folder / f"clip.{ext}") for ext in CODECS}


@pytest.fixture(scope="module")
def silent_clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("silent") / "silent.mp4")


# --- ffmpeg -----------------------------------------------------------------------


def test_ffmpeg_exe_is_the_bundled_one_unless_vidsr_ffmpeg_says(monkeypatch, tmp_path):
    import imageio_ffmpeg

    bundled = imageio_ffmpeg.get_ffmpeg_exe()
    assert os.path.isfile(bundled)
    fake = tmp_path / "ffmpeg"  # an ffmpeg on PATH is not used unless VIDSR_FFMPEG names it
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("VIDSR_FFMPEG", raising=False)
    assert ffmpeg_exe() == bundled
    monkeypatch.setenv("VIDSR_FFMPEG", "ffmpeg")  # a name: looked up on PATH
    assert ffmpeg_exe() == str(fake)
    monkeypatch.setenv("VIDSR_FFMPEG", "/opt/my/ffmpeg")
    assert ffmpeg_exe() == "/opt/my/ffmpeg"


def test_binary_has_libx264():
    # The writer falls back to mpeg4 without it; the bundled binary should have it.
    assert "libx264" in encoders()


def test_error_reason_picks_the_cause():
    text = (
        "[in#0 @ 0x55] Error opening input: Invalid data found when processing input\n"
        "Error opening input file x.txt.\n"
        "Error opening input files: Invalid data found when processing input\n"
    )
    assert error_reason(text) == "Invalid data found when processing input"


def test_full_disk_is_reported_as_such():
    args = ["-f", "lavfi", "-i", "testsrc=d=2", "-c:v", "libx264", "-f", "mp4", "-y", "/dev/full"]
    with pytest.raises(MediaError, match="disk is full"):
        run_ffmpeg(args)


# --- probe ------------------------------------------------------------------------


@needs_grid
def test_probe_grid_clip():
    info = probe(GRID)
    assert (info.width, info.height) == (360, 288)
    assert info.fps == 25.0
    assert info.duration == pytest.approx(3.0, abs=0.05)
    assert info.num_frames == 75
    assert info.has_audio and info.audio_rate == 44100
    assert info.video_codec == "mpeg1video"


def test_probe_rotated_video_reports_upright_size(clips, tmp_path):
    ffmpeg_option("display_rotation")  # ffmpeg 6.0 or newer
    rotated = tmp_path / "rotated.mp4"
    run_ffmpeg(["-display_rotation", "90", "-i", str(clips["mp4"]), "-c", "copy", str(rotated)])
    info = probe(rotated)
    assert (info.width, info.height) == (48, 64)
    frames = list(VideoReader(rotated))
    assert frames[0].image.shape == (64, 48, 3)


def test_probe_errors(tmp_path, clips):
    with pytest.raises(MediaError, match="no such file"):
        probe(tmp_path / "missing.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    with pytest.raises(MediaError, match="cannot read video .*notes.mp4.*Invalid data"):
        probe(text)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(clips["mp4"].read_bytes()[:1500])
    with pytest.raises(MediaError) as err:
        probe(truncated)
    assert "\n" not in str(err.value) and "truncated.mp4" in str(err.value)
    wav = tmp_path / "voice.wav"
    save_wav(wav, np.zeros(1600, np.float32), SAMPLE_RATE)
    with pytest.raises(MediaError, match="no video stream"):
        probe(wav)


# --- reader -----------------------------------------------------------------------


@needs_grid
def test_read_all_frames_of_grid_clip():
    with VideoReader(GRID) as reader:
        frames = list(reader)
    assert len(frames) == 75
    assert [f.index for f in frames] == list(range(75))
    times = np.array([f.time for f in frames])
    assert times[0] == pytest.approx(0.0, abs=1e-6)
    np.testing.assert_allclose(np.diff(times), 0.04, atol=1e-3)
    image = frames[40].image
    assert image.shape == (288, 360, 3) and image.dtype == np.uint8
    assert 50 < image.mean() < 200  # a real picture, not black or white


@needs_grid
def test_read_with_resize():
    with VideoReader(GRID, size=(90, 72)) as reader:
        frame = next(iter(reader))
    assert frame.image.shape == (72, 90, 3)


@pytest.mark.parametrize("ext", list(CODECS))
def test_read_each_container(clips, ext):
    info = probe(clips[ext])
    assert (info.width, info.height, info.fps) == (64, 48, 25.0)
    frames = list(VideoReader(clips[ext]))
    assert len(frames) == 10
    np.testing.assert_allclose([f.time for f in frames], np.arange(10) / 25, atol=1e-3)
    assert all(f.image.shape == (48, 64, 3) for f in frames)
    assert frames[5].image.std() > 30  # testsrc's colour bars, not a blank frame


def test_variable_frame_rate_timestamps(tmp_path):
    # 10 frames at 10 fps, then 30 fps: timestamps set exactly in a 1/300 s time base.
    clip = make_clip(
        tmp_path / "vfr.mkv",
        seconds=1.4,
        rate=30,
        extra=[
            "-vf", "settb=1/300,setpts='if(lt(N,10),N*30,300+(N-10)*10)'",
            "-fps_mode", "passthrough",
        ],  # fmt: skip
    )
    expected = [n * 0.1 for n in range(10)] + [1 + k / 30 for k in range(32)]
    times = [f.time for f in VideoReader(clip)]
    assert len(times) == len(expected)
    np.testing.assert_allclose(times, expected, atol=2e-3)  # mkv stores milliseconds


def test_names_that_look_like_protocols_or_options(clips, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative names are the ones ffmpeg could misread
    for name in ("take 12:30.mp4", "-y.mp4"):
        path = tmp_path / name
        shutil.copy(clips["mp4"], path)
        assert probe(name).width == 64
        assert len(list(VideoReader(name))) == 10
        with pytest.raises(NoAudioError):
            load_audio(name)


def test_early_exit_stops_ffmpeg(clips):
    reader = VideoReader(clips["mp4"])
    with reader:
        for frame in reader:
            process = reader._process.proc
            break
    assert process.poll() is not None  # ffmpeg is gone, not left running
    assert reader._process is None


def test_memory_does_not_grow_with_length(tmp_path):
    clip = make_clip(
        tmp_path / "long.mp4", seconds=4, size="160x120", extra=["-preset", "ultrafast"]
    )
    frame_bytes = 160 * 120 * 3
    tracemalloc.start()
    count = 0
    for _ in VideoReader(clip):
        count += 1
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert count == 100
    assert peak < 8 * frame_bytes  # the whole video would be 100 frames


# --- audio ------------------------------------------------------------------------


@needs_grid
def test_load_audio_of_grid_clip():
    wave = load_audio(GRID)
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) / SAMPLE_RATE == pytest.approx(3.0, abs=0.05)
    assert np.abs(wave).max() <= 1.0 and wave.std() > 0.01
    assert len(load_audio(GRID, sr=8000)) == pytest.approx(len(wave) / 2, abs=2)


def test_no_audio_track(silent_clip):
    with pytest.raises(NoAudioError, match="has no audio track"):
        load_audio(silent_clip)


def test_load_audio_errors(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        load_audio(tmp_path / "missing.mp4")
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    with pytest.raises(MediaError, match="Invalid data") as err:
        load_audio(text)
    assert not isinstance(err.value, NoAudioError)


def test_save_wav_round_trip(tmp_path):
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    wave = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "tone.wav"
    save_wav(path, wave, SAMPLE_RATE)
    assert sorted(os.listdir(tmp_path)) == ["tone.wav"]  # no temporary file left
    np.testing.assert_allclose(load_audio(path), wave, atol=1e-3)


# --- writer -----------------------------------------------------------------------


@needs_grid
def test_writer_round_trip_with_audio(tmp_path):
    out = tmp_path / "out.mp4"
    with VideoReader(GRID) as reader, VideoWriter(out, 360, 288, 25, audio_from=GRID) as writer:
        originals = []
        for frame in reader:
            if frame.index == 50:
                break
            writer.write(frame.image)
            originals.append(frame.image)
    assert sorted(os.listdir(tmp_path)) == ["out.mp4"]

    info = probe(out)
    assert (info.width, info.height) == (360, 288)
    assert info.duration == pytest.approx(2.0, abs=0.04)
    assert info.has_audio and info.video_codec == "h264"
    frames = list(VideoReader(out))
    assert len(frames) == 50
    np.testing.assert_allclose([f.time for f in frames], np.arange(50) / 25, atol=1e-3)
    error = np.abs(frames[25].image.astype(int) - originals[25].astype(int)).mean()
    assert error < 6  # same picture, only coding noise
    assert len(load_audio(out)) / SAMPLE_RATE == pytest.approx(2.0, abs=0.05)


def test_writer_odd_size_and_no_audio(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 65, 49, 25) as writer:
        for i in range(5):
            writer.write(np.full((49, 65, 3), 40 * i, np.uint8))
    info = probe(out)
    assert (info.width, info.height) == (64, 48) and not info.has_audio
    assert len(list(VideoReader(out))) == 5


def test_writer_exception_leaves_nothing(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(out, 64, 48, 25) as writer:
            writer.write(np.zeros((48, 64, 3), np.uint8))
            raise KeyboardInterrupt
    assert os.listdir(tmp_path) == []


def test_writer_ffmpeg_failure_leaves_nothing(tmp_path):
    with pytest.raises(MediaError, match="cannot write video"):
        with VideoWriter(tmp_path / "out.nosuchformat", 64, 48, 25) as writer:
            for _ in range(5):
                writer.write(np.zeros((48, 64, 3), np.uint8))
    assert os.listdir(tmp_path) == []


def test_writer_full_disk_leaves_nothing(tmp_path, monkeypatch):
    # A stand-in ffmpeg that takes the frames and then fails the way a full disk does.
    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\n"
        'case "$*" in *-encoders*) echo " V....D libx264  H.264"; exit 0;; esac\n'
        "cat > /dev/null\n"
        "echo '[out#0/mp4 @ 0x1] Error writing trailer: No space left on device' >&2\n"
        "exit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("VIDSR_FFMPEG", str(fake))
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(MediaError, match="out.mp4.*disk is full"):
        with VideoWriter(out_dir / "out.mp4", 64, 48, 25) as writer:
            for _ in range(5):
                writer.write(np.zeros((48, 64, 3), np.uint8))
    assert os.listdir(out_dir) == []


def test_writer_rejects_wrong_frames(tmp_path):
    with VideoWriter(tmp_path / "out.mp4", 64, 48, 25) as writer:
        with pytest.raises(ValueError, match="uint8"):
            writer.write(np.zeros((48, 64, 3), np.float32))
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert (tmp_path / "out.mp4").exists()


def test_an_ffmpeg_that_cannot_retime_writes_the_constant_rate_and_warns(tmp_path, monkeypatch):
    """With an ffmpeg whose setpts takes no commands (5.1), frame times given to the writer
    fall back to i / fps (the video is still written), and enhancing warns about the drift."""
    import vidsr.media.ffmpeg
    import vidsr.media.writer
    from vidsr.pipeline.video import check_frame_times

    monkeypatch.setattr(vidsr.media.writer, "can_retime_frames", lambda: False)
    monkeypatch.setattr(vidsr.media.ffmpeg, "can_retime_frames", lambda: False)
    times = [0.0, 0.1, 0.2, 0.5, 0.6]
    with VideoWriter(tmp_path / "cfr.mp4", 64, 48, 10, times=times) as writer:
        assert not writer.times_kept
        for _ in times:
            writer.write(np.zeros((48, 64, 3), np.uint8))
    np.testing.assert_allclose([f.time for f in VideoReader(tmp_path / "cfr.mp4")], [0, 0.1, 0.2, 0.3, 0.4], atol=1e-3)
    warnings = []
    check_frame_times(times, 10, tmp_path / "in.mp4", warnings.append)
    check_frame_times([0.0, 0.1, 0.2], 10, tmp_path / "in.mp4", warnings.append)  # constant rate: nothing to say
    assert len(warnings) == 1 and "variable frame rate" in warnings[0] and "may drift" in warnings[0]


def test_writer_keeps_variable_frame_times(tmp_path):
    """Frames given their own times (10 fps, then 30 fps) are shown at those times, each
    exactly; the sound is cut at the last frame's end, not at frames / fps."""
    ffmpeg_retimes()
    times = [n * 0.1 for n in range(10)] + [1 + k / 30 for k in range(12)]
    image = np.zeros((48, 64, 3), np.uint8)
    sound = tmp_path / "tone.wav"
    run_ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=16000:duration=3", "-y", str(sound)])
    with VideoWriter(tmp_path / "vfr.mp4", 64, 48, 14.35, audio_from=sound, times=times) as writer:
        for i in range(len(times)):
            image[:] = 10 * i
            writer.write(image)
    frames = list(VideoReader(tmp_path / "vfr.mp4"))
    np.testing.assert_allclose([f.time for f in frames], times, atol=1e-4)
    assert [int(f.image.mean() + 5) // 10 for f in frames] == list(range(len(times)))  # each frame once, in order
    assert len(load_audio(tmp_path / "vfr.mp4")) / SAMPLE_RATE == pytest.approx(times[-1] + 1 / 14.35, abs=0.03)
    # Times that repeat or go back (a damaged file) still make a video, its times increasing.
    with VideoWriter(tmp_path / "odd.mp4", 64, 48, 25, times=[0.0, 0.1, 0.1, 0.05, 0.3]) as writer:
        for _ in range(5):
            writer.write(image)
    odd = [f.time for f in VideoReader(tmp_path / "odd.mp4")]
    assert len(odd) == 5 and all(b > a for a, b in zip(odd, odd[1:])) and odd[-1] == pytest.approx(0.3, abs=1e-3)
    (tmp_path / "odd.mp4").unlink()
    # Times at a constant rate take the plain path; more frames than times is an error.
    with VideoWriter(tmp_path / "cfr.mp4", 64, 48, 25, times=[i / 25 for i in range(3)]) as writer:
        assert writer.times is None
        writer.write(image)
    with pytest.raises(MediaError, match="more frames than"):
        with VideoWriter(tmp_path / "short.mp4", 64, 48, 10, times=[0.0, 0.3]) as writer:
            for _ in range(3):
                writer.write(image)
    assert sorted(os.listdir(tmp_path)) == ["cfr.mp4", "tone.wav", "vfr.mp4"]


def test_writer_takes_i420_frames(tmp_path):
    import cv2

    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 4, y * 5, 255 - x * 2 - y * 2], -1).astype(np.uint8)  # smooth colours: 4:2:0 loses nothing
    with VideoWriter(tmp_path / "yuv.mp4", 64, 48, 25, pix_fmt="yuv420p") as writer:
        for _ in range(3):
            writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420))
    with VideoWriter(tmp_path / "rgb.mp4", 64, 48, 25) as writer:
        for _ in range(3):
            writer.write(rgb)
    (frame, *_) = VideoReader(tmp_path / "yuv.mp4")
    (same, *_) = VideoReader(tmp_path / "rgb.mp4")  # the picture ffmpeg's own conversion gives
    assert np.abs(frame.image.astype(int) - same.image).mean() < 4  # planes mixed up would be off by tens
    with pytest.raises(ValueError, match="even size"):
        VideoWriter(tmp_path / "odd.mp4", 65, 48, 25, pix_fmt="yuv420p")
    with VideoWriter(tmp_path / "yuv2.mp4", 64, 48, 25, pix_fmt="yuv420p") as writer:
        with pytest.raises(ValueError, match="expected a"):
            writer.write(rgb)
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420))
