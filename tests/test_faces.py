"""vidsr.faces and `vidsr detect`: tiny-face detection, tracking, cropping.

Real faces come from the GRID clips in the shared data folder (conftest.shared; the
tests that need them are skipped without it); test videos are made from them with ffmpeg:

- ``tiny``: bbaf2n shrunk 10x (face about 10 px wide) on a grey 640x360 canvas;
- ``pair``: the two GRID clips side by side;
- ``noface``: lavfi testsrc; ``notvideo``: a text file named .mp4.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import GRID, needs_shared
from vidsr.faces import (
    Detection,
    FaceTracker,
    TinyFaceDetector,
    crop_face,
    faces_by_frame,
    iter_tracked_frames,
    rts_smooth,
    square_box,
    track_video,
)
from vidsr.imaging import resize
from vidsr.media import VideoReader, run_ffmpeg
from vidsr.media.synth import H264, shrunk_face_clip

MALE, FEMALE = GRID / "bbaf2n.mpg", GRID / "lbbc2a.mpg"
ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "astronaut.mp4"

needs_grid = needs_shared

# Where the shrunk face goes in the tiny clip: the 360x288 clip becomes 36x29 at (300, 160).
TINY_AT, TINY_SCALE = (300, 160), 0.1


def run_cli(*args: str) -> subprocess.CompletedProcess:
    """``python -m vidsr ARGS`` as a user would run it (one core, like the rest)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "vidsr", *args], capture_output=True, text=True, cwd=ROOT, env=env
    )


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("faces")
    out = {"noface": folder / "noface.mp4", "notvideo": folder / "notvideo.mp4"}
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=1", *H264, "-y", str(out["noface"])])
    out["notvideo"].write_text("this is a text file, not a video\n")
    if MALE.exists():
        out["tiny"] = folder / "tiny.mp4"
        shrunk_face_clip(MALE, out["tiny"], size=(36, 29), at=TINY_AT, audio=False)
        out["pair"] = folder / "pair.mp4"
        run_ffmpeg([
            "-i", str(MALE), "-i", str(FEMALE), "-filter_complex", "[0:v][1:v]hstack=shortest=1",
            "-an", *H264, "-y", str(out["pair"]),
        ])  # fmt: skip
    return out


@pytest.fixture(scope="session")
def detector() -> TinyFaceDetector:
    import torch

    torch.set_num_threads(1)
    return TinyFaceDetector(min_face=8)


@pytest.fixture(scope="session")
def tracked(clips, detector):
    """``{name: (tracks, number of frames)}``, each clip tracked once."""
    cache = {}

    def get(name: str):
        if name not in cache:
            path = MALE if name == "original" else clips[name]
            count = sum(1 for _ in VideoReader(path))
            cache[name] = (track_video(path, detect_every=5, detector=detector), count)
        return cache[name]

    return get


def width(box) -> float:
    return float(box[2] - box[0])


# --- crop -----------------------------------------------------------------------------


def test_square_box_keeps_centre_and_sets_side():
    box = np.array([10, 20, 30, 60], np.float32)  # 20 wide, 40 high, centre (20, 40)
    sq = square_box(box, margin=0.5)
    assert sq.dtype == np.float32
    np.testing.assert_allclose(sq, [-10, 10, 50, 70])
    np.testing.assert_allclose(square_box(box, 0.0), [0, 20, 40, 60])


def test_crop_face_exact_at_native_size():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (50, 60, 3), dtype=np.uint8)
    crop = crop_face(image, np.array([7, 5, 23, 21]), 16)  # a 16 px box at 16 px
    np.testing.assert_array_equal(crop, image[5:21, 7:23])


def test_crop_face_replicates_edges_outside_the_frame():
    image = np.zeros((20, 20, 3), np.uint8)
    image[:, 0] = (255, 0, 0)  # red left column
    image[0, :] = (0, 255, 0)  # green top row
    crop = crop_face(image, np.array([-10, 5, 10, 25]), 20)  # half outside left and bottom
    assert crop.shape == (20, 20, 3)
    assert (crop[:, :10] == (255, 0, 0)).all()  # the left edge repeated
    np.testing.assert_array_equal(crop[-1], crop[-6])  # the bottom row repeated
    assert crop[:, 11:].max() == 0


def test_crop_face_shrinks_like_an_antialiased_bicubic_downsample():
    # A fine checkerboard averages to grey when shrunk properly; point sampling would
    # keep pure black and white.
    board = ((np.indices((128, 128)).sum(0) % 2) * 255).astype(np.uint8)
    image = np.repeat(board[:, :, None], 3, axis=2)
    crop = crop_face(image, np.array([0, 0, 128, 128]), 8)
    assert crop.shape == (8, 8, 3)
    assert np.abs(crop.astype(int) - 128).max() <= 3
    np.testing.assert_array_equal(crop, resize(image, 8, "antialiased"))


def test_crop_face_rejects_empty_box():
    with pytest.raises(ValueError):
        crop_face(np.zeros((10, 10, 3), np.uint8), np.array([5, 5, 5, 8]), 8)


# --- tracker on synthetic boxes ---------------------------------------------------------


def box_at(cx, cy, size=12.0):
    return np.array([cx - size / 2, cy - size / 2, cx + size / 2, cy + size / 2], np.float32)


def test_two_crossing_faces_keep_their_ids():
    """Face A goes right, face B goes left, they cross (B is hidden behind A for a
    while); the tracker runs detection every 5 frames and must not swap them."""
    tracker = FaceTracker(detect_every=5, min_hits=3)
    for f in range(100):
        a = box_at(20 + 2 * f, 50)
        b = box_at(220 - 2 * f, 56)
        if f % 5:
            tracker.step(f, None)
            continue
        dets = [Detection(a, 0.99)]
        if not 45 <= f <= 50:  # B hidden behind A for two detection passes
            dets.append(Detection(b, 0.98))
        tracker.step(f, dets)
    tracks = tracker.finish()
    assert len(tracks) == 2
    ta, tb = sorted(tracks, key=lambda t: t.boxes[0][0])
    assert ta.id != tb.id
    # A started left and ends right, B the other way round: no swap at the crossing.
    assert ta.boxes[-1][0] > 180 and tb.boxes[-1][0] < 40
    assert ta.first == tb.first == 0 and ta.last == tb.last == 99
    # The smoothed path follows the true motion in every frame, detected or not.
    for f in range(0, 100, 7):
        assert abs((ta.box_at(f)[0] + 6) - (20 + 2 * f)) < 2.0
        assert abs((tb.box_at(f)[0] + 6) - (220 - 2 * f)) < 2.0


def test_tracks_end_after_misses_and_short_ones_are_dropped():
    tracker = FaceTracker(detect_every=1, max_misses=2, min_hits=3)
    for f in range(30):
        dets = [Detection(box_at(100, 100), 0.9)] if f < 10 else []
        if f == 20:
            dets.append(Detection(box_at(300, 300), 0.8))  # a one-frame false alarm
        tracker.step(f, dets)
    tracks = tracker.finish()
    assert len(tracks) == 1
    assert (tracks[0].first, tracks[0].last) == (0, 9)
    assert tracks[0].num_detections == 10


def test_streaming_update_reports_confirmed_faces_only():
    tracker = FaceTracker(detect_every=1, min_hits=3)
    seen = [tracker.step(f, [Detection(box_at(50, 50), 0.9)]) for f in range(5)]
    assert [len(s) for s in seen] == [0, 0, 1, 1, 1]
    np.testing.assert_allclose(seen[-1][0][1], box_at(50, 50), atol=1e-3)


def test_rts_smoothing_reduces_jitter():
    rng = np.random.default_rng(1)
    frames = list(range(0, 200, 5))
    truth = np.array([box_at(100 + 0.5 * f, 80, 20) for f in frames])
    noisy = truth + rng.normal(0, 1.5, truth.shape).astype(np.float32)
    smooth = rts_smooth(frames, noisy, 0, 195)
    assert smooth.shape == (196, 4)
    err_raw = np.abs(noisy - truth).mean()
    err_smooth = np.abs(smooth[frames] - truth).mean()
    assert err_smooth < 0.75 * err_raw


def test_frames_must_increase():
    tracker = FaceTracker()
    tracker.step(3, [])
    with pytest.raises(ValueError):
        tracker.step(3, [])


# --- detector and videos ----------------------------------------------------------------


@needs_grid
@pytest.mark.slow
def test_detector_finds_a_10px_face_in_strips_too(clips, detector):
    frame = next(iter(VideoReader(clips["tiny"]))).image
    faces = detector.detect(frame)
    assert len(faces) == 1
    x, y = TINY_AT
    box = faces[0].box
    assert 7 <= width(box) <= 14
    assert x + 5 < (box[0] + box[2]) / 2 < x + 31 and y + 5 < (box[1] + box[3]) / 2 < y + 24
    assert faces[0].landmarks.shape == (5, 2)
    # P-Net in strips (for 4K frames) gives the same answer as in one piece.
    strips = TinyFaceDetector(min_face=8, max_side=200).detect(frame)
    assert len(strips) == 1
    np.testing.assert_allclose(strips[0].box, box, atol=0.5)


def test_region_search_finds_the_face_as_a_full_pass_does(detector):
    frame = next(iter(VideoReader(EXAMPLE))).image  # the example's 10 px face: runs without the shared data
    (full,) = detector.detect(frame)
    b = full.box
    around = np.array([[b[0] - 20, b[1] - 20, b[2] + 20, b[3] + 20]])
    (found,) = detector.detect_regions(frame, around)
    np.testing.assert_allclose(found.box, b, atol=1.0)
    assert abs(found.score - full.score) < 0.05
    # Regions away from the face, or off the frame, find nothing; two overlapping regions one face.
    assert detector.detect_regions(frame, np.array([[0, 0, 60, 60], [-90, -90, -10, -10]])) == []
    assert len(detector.detect_regions(frame, np.concatenate([around, around + 6]))) == 1


class CountingDetector:
    """A fake detector: a face at ``box`` in every frame; records what each pass searched."""

    def __init__(self, box):
        self.box, self.calls = box, []

    def detect(self, image):
        self.calls.append("full")
        return [Detection(self.box, 0.99)]

    def detect_regions(self, image, regions):
        self.calls.append(np.asarray(regions).copy())
        inside = [r for r in regions if r[0] <= self.box[0] and r[1] <= self.box[1] and r[2] >= self.box[2]
                  and r[3] >= self.box[3]]
        return [Detection(self.box, 0.99)] if inside else []


def test_full_passes_every_full_every_frames_and_region_searches_between():
    face = box_at(100, 80)
    det = CountingDetector(face)
    tracker = FaceTracker(det, detect_every=5, full_every=25)
    image = np.zeros((360, 640, 3), np.uint8)
    for f in range(60):
        tracker.update(f, image)
    # Passes at frames 0, 5, ..., 55: full at 0, 25, 50, around the face at the others.
    assert ["full" if isinstance(c, str) else "region" for c in det.calls] == (["full"] + ["region"] * 4) * 2 + [
        "full", "region"]
    region = det.calls[1][0]
    assert region[0] < face[0] and region[2] > face[2] and (region[2] - region[0]) >= 3 * 12
    (track,) = tracker.finish()
    assert track.num_detections == 12 and (track.first, track.last) == (0, 59)
    # No face followed: the passes between the full ones cost nothing.
    empty = CountingDetector(box_at(100, 80))
    empty.detect = lambda image: empty.calls.append("full") or []
    tracker = FaceTracker(empty, detect_every=5, full_every=25)
    for f in range(30):
        tracker.update(f, image)
    assert empty.calls == ["full", "full"]
    # full_every up to detect_every, or a detector without detect_regions: every pass is full.
    det = CountingDetector(face)
    tracker = FaceTracker(det, detect_every=5, full_every=5)
    for f in range(20):
        tracker.update(f, image)
    assert det.calls == ["full"] * 4


@needs_grid
@pytest.mark.slow
def test_tiny_face_clip_gives_one_track(tracked):
    tracks, n = tracked("tiny")
    assert len(tracks) == 1, [(t.id, t.first, t.last) for t in tracks]
    t = tracks[0]
    assert len(t.frames) >= 0.9 * n
    assert 8 <= np.median([width(b) for b in t.boxes]) <= 13
    assert 8 <= t.mean_size <= 13


@needs_grid
@pytest.mark.slow
def test_original_clip_gives_one_track(tracked):
    tracks, n = tracked("original")
    assert len(tracks) == 1
    assert len(tracks[0].frames) >= 0.9 * n
    assert 80 <= np.median([width(b) for b in tracks[0].boxes]) <= 130


@needs_grid
@pytest.mark.slow
def test_two_speakers_side_by_side_give_two_tracks(tracked):
    tracks, n = tracked("pair")
    assert len(tracks) == 2
    assert all(len(t.frames) >= 0.9 * n for t in tracks)
    centres = sorted(float(np.mean([(b[0] + b[2]) / 2 for b in t.boxes])) for t in tracks)
    assert centres[0] < 360 < centres[1]  # one face in each half


@needs_grid
@pytest.mark.slow
def test_faces_can_be_looked_up_per_frame(tracked, clips):
    tracks, n = tracked("tiny")
    table = faces_by_frame(tracks)
    assert len(table) == len(tracks[0].frames)
    count = 0
    for frame, faces in iter_tracked_frames(clips["tiny"], tracks):
        for _, box in faces:
            crop = crop_face(frame.image, square_box(box, 0.2), 16)
            assert crop.shape == (16, 16, 3)
            count += 1
    assert count == len(tracks[0].frames)


@pytest.mark.slow
def test_no_faces_in_testsrc(tracked):
    tracks, _ = tracked("noface")
    assert tracks == []


# --- the command ----------------------------------------------------------------------


@needs_grid
@pytest.mark.slow
def test_cli_detect_writes_json(clips, tmp_path):
    from typer.testing import CliRunner

    from vidsr.cli.app import app

    out = tmp_path / "tracks.json"
    result = CliRunner().invoke(app, ["detect", str(clips["tiny"]), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "1 face track" in result.output
    data = json.loads(out.read_text())
    assert data["video"]["width"] == 640 and data["video"]["num_frames"] == 75
    (track,) = data["tracks"]
    assert len(track["frames"]) == len(track["boxes"]) >= 68
    assert 8 <= track["mean_size"] <= 13
    assert [p.name for p in tmp_path.iterdir()] == ["tracks.json"]  # no temporary (.tracks.json.partial) left


@pytest.mark.slow
def test_cli_detect_on_a_video_without_faces(clips, tmp_path):
    from typer.testing import CliRunner

    from vidsr.cli.app import app

    out = tmp_path / "none.json"
    result = CliRunner().invoke(app, ["detect", str(clips["noface"]), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "No faces found" in result.output
    assert json.loads(out.read_text())["tracks"] == []


def test_cli_detect_on_a_file_that_is_not_a_video(clips):
    result = run_cli("detect", str(clips["notvideo"]))
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vidsr: error:"), result.stderr
    assert "notvideo.mp4" in lines[0] and "Traceback" not in result.stderr
