"""What several test files share: the one policy for tests that need what a fresh clone may
lack, and a tiny prepared set.

- The real data (GRID clips, UTKFace photos) lives in the shared folder, ``$VIDSR_SHARED`` or
  ``../shared`` beside the project; it is never copied into the repository. A test that needs
  it asks :func:`shared` for its path (or carries the :data:`needs_shared` mark, for a whole
  module): without the shared folder it is skipped, always with the same reason; with a
  shared folder that lacks the file, it fails (the folder is broken).
- Made voices need the espeak-ng program (``apt-get install espeak-ng``): :func:`espeak`
  skips a test without it, with one reason too.
- A test of an ffmpeg feature that not every build has asks :func:`ffmpeg_option`.
- A test of `vidsr enhance --ray` needs Ray, an optional extra (``pip install -e ".[ray]"``):
  it carries the :data:`needs_ray` mark, one reason for all of them.

Everything else runs on what the tests make themselves (synthetic faces, clips and sound).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(os.environ.get("VIDSR_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
DATA = SHARED / "data"
UTKFACE = DATA / "utkface"
GRID = DATA / "grid"

SHARED_REASON = f"needs the shared data folder {DATA} (set VIDSR_SHARED to the shared folder)"
ESPEAK_REASON = "needs espeak-ng to make voices (apt-get install espeak-ng)"

needs_shared = pytest.mark.skipif(not DATA.is_dir(), reason=SHARED_REASON)

RAY_REASON = 'needs Ray, the optional extra of `vidsr enhance --ray` (pip install -e ".[ray]")'
needs_ray = pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason=RAY_REASON)


def shared(*parts: str) -> Path:
    """``DATA/parts...``; skips the calling test when there is no shared data folder."""
    if not DATA.is_dir():
        pytest.skip(SHARED_REASON)
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"the shared data folder {DATA} lacks {path}")
    return path


def espeak() -> None:
    """Skips the calling test when espeak-ng is not installed."""
    if shutil.which("espeak-ng") is None:
        pytest.skip(ESPEAK_REASON)


@functools.lru_cache(maxsize=None)
def _ffmpeg_help() -> str:
    from vidsr.media import ffmpeg_exe

    return subprocess.run([ffmpeg_exe(), "-hide_banner", "-h", "full"], capture_output=True, text=True).stdout


def ffmpeg_option(name: str) -> None:
    """Skips the calling test when vidsr's ffmpeg lacks the option ``-name``."""
    from vidsr.media import ffmpeg_exe

    if not re.search(rf"^-{re.escape(name)}\b", _ffmpeg_help(), re.MULTILINE):
        pytest.skip(f"the ffmpeg in use ({ffmpeg_exe()}) has no -{name}")


def ffmpeg_retimes() -> None:
    """Skips the calling test when vidsr's ffmpeg cannot keep variable frame times (ffmpeg 5.1:
    vidsr.media.ffmpeg.can_retime_frames)."""
    from vidsr.media.ffmpeg import can_retime_frames, ffmpeg_exe

    if not can_retime_frames():
        pytest.skip(f"the ffmpeg in use ({ffmpeg_exe()}) cannot set frame times (setpts expr by command: ffmpeg 6.0+)")


# ------------------------------------------------------------------------ synthetic faces


def synthetic_face(rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A face-like RGB picture (uint8, size x size): a skin-coloured oval on a plain
    background, two eyes, a mouth, hair; colours and proportions drawn from ``rng``."""
    import cv2

    img = np.empty((size, size, 3), np.uint8)
    img[:] = rng.integers(40, 220, 3)
    c, s = size / 2, size / 64
    skin = tuple(int(v) for v in rng.integers([150, 100, 70], [255, 200, 170]))
    hair = tuple(int(v) for v in rng.integers(0, 120, 3))
    w, h = int(rng.integers(17, 23) * s), int(rng.integers(23, 28) * s)
    cv2.ellipse(img, (int(c), int(c - 4 * s)), (w + 2, h), 0, 180, 360, hair, -1)
    cv2.ellipse(img, (int(c), int(c)), (w, h), 0, 0, 360, skin, -1)
    eye_y, eye_dx = int(c - 5 * s), int(rng.integers(7, 10) * s)
    for dx in (-eye_dx, eye_dx):
        cv2.circle(img, (int(c + dx), eye_y), max(1, int(2.5 * s)), (30, 30, 30), -1)
    mouth = tuple(int(v) for v in rng.integers([120, 30, 30], [200, 80, 80]))
    cv2.ellipse(img, (int(c), int(c + 12 * s)), (int(rng.integers(5, 9) * s), max(1, int(2 * s))), 0, 0, 360, mouth, -1)
    return img


def write_synthetic_photos(folder: Path, n: int, seed: int = 0, size: int = 64) -> Path:
    """``n`` synthetic faces named as UTKFace names its photos (AGE_GENDER_RACE_DATE.jpg.chip.jpg),
    genders alternating, so vidsr prepare gives them voices."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        age = int(rng.integers(18, 70))
        name = f"{age}_{i % 2}_{i % 5}_2017011617{i:06d}.jpg.chip.jpg"
        cv2.imwrite(str(folder / name), cv2.cvtColor(synthetic_face(rng, size), cv2.COLOR_RGB2BGR))
    return folder


# ------------------------------------------------------------------------ prepared sets


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """A prepared set of 32 synthetic faces with made voices (2 clips each), faces 32 px."""
    from vidsr.data.prepare import prepare_photos

    espeak()
    photos = write_synthetic_photos(tmp_path_factory.mktemp("photos") / "faces", 32)
    out = tmp_path_factory.mktemp("sets") / "tiny"
    prepare_photos(photos, out, voices_per_person=2, hr_size=32, progress=False, voices="made")
    return out


@pytest.fixture(scope="session")
def tiny_weights(tiny_set, tmp_path_factory) -> Path:
    """A complete (barely trained) FaceSR model of the tiny preset, as a weights file."""
    from vidsr.train.export import export
    from vidsr.train.api import train
    from vidsr.train.stages import STAGE_ORDER

    runs = tmp_path_factory.mktemp("runs")
    for stage in STAGE_ORDER:
        train(stage, tiny_set, runs, preset="tiny", steps=4, checkpoint_every=1000, sample_every=1000)
    return export(runs, runs / "tiny.safetensors")


@pytest.fixture(scope="session")
def model(tiny_weights):
    """The tiny model, loaded for the pipeline (vidsr.pipeline.load_model)."""
    from vidsr.pipeline import load_model

    return load_model(tiny_weights, "cpu")


@pytest.fixture(scope="session")
def detector():
    """The pipeline's tiny-face detector, searching down to 8 px faces."""
    from vidsr.faces import TinyFaceDetector

    return TinyFaceDetector(min_face=8)
