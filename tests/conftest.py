"""Fixtures shared by several test files: where ../shared/data is, and a tiny prepared set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("VIDSR_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
DATA = SHARED / "data"
UTKFACE = DATA / "utkface"
GRID = DATA / "grid"


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """A prepared set of 32 UTKFace photos with made voices (2 clips each), faces 32 px."""
    from vidsr.data.prepare import prepare_photos

    out = tmp_path_factory.mktemp("sets") / "tiny"
    prepare_photos(UTKFACE, out, voices_per_person=2, hr_size=32, limit=32, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_weights(tiny_set, tmp_path_factory) -> Path:
    """A complete (barely trained) FaceSR model of the tiny preset, as a weights file."""
    from vidsr.models.facesr import export
    from vidsr.train.api import train
    from vidsr.train.stages import STAGE_ORDER

    runs = tmp_path_factory.mktemp("runs")
    for stage in STAGE_ORDER:
        train(stage, tiny_set, runs, preset="tiny", steps=4, show_progress=False, checkpoint_every=1000, sample_every=1000)
    return export(runs, runs / "tiny.safetensors")
