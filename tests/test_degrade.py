"""vidsr.data.degrade and the stages' low-res inputs: shapes, range, seeds, rates, geometry.

Runs on synthetic faces (conftest.synthetic_face): no shared data needed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import vidsr.data.degrade as degrade
from conftest import synthetic_face
from vidsr.data.degrade import degrade_batch, degrade_face
from vidsr.errors import VidsrError
from vidsr.imaging import downsample, from_uint8

N = 400


@pytest.fixture(scope="module")
def faces() -> np.ndarray:
    rng = np.random.default_rng(0)
    return np.stack([synthetic_face(rng, 64) for _ in range(16)])


def test_shapes_range_and_seeds(faces):
    x = from_uint8(faces)
    a = degrade_batch(x, 8, np.random.default_rng(5))
    assert a.shape == (16, 3, 8, 8) and a.dtype == torch.float32
    assert a.min() >= -1 and a.max() <= 1 and torch.isfinite(a).all()
    assert torch.equal(a, degrade_batch(x, 8, np.random.default_rng(5)))  # a seed gives one batch
    assert not torch.equal(a, degrade_batch(x, 8, np.random.default_rng(6)))
    assert degrade_batch(x[:, :, :32, :32].contiguous(), 8, np.random.default_rng(5), crop_scale=1.7).shape == (16, 3, 8, 8)


def test_the_faces_own_pixels_come_with_the_same_draw(faces):
    """``own``: the same degraded face, also cut at its own size (the crop box, 1.2x the face's
    width: 10 px faces give 11-13 px crops after the box's jitter), without changing the input."""
    for f in faces[:6]:
        plain, _ = degrade_face(f, 8, np.random.default_rng(3), face_px=(10.0, 10.0))
        same, info = degrade_face(f, 8, np.random.default_rng(3), face_px=(10.0, 10.0), own=True)
        assert np.array_equal(plain, same)
        side = info["own"].shape[0]
        assert info["own"].dtype == np.uint8 and info["own"].shape == (side, side, 3) and 11 <= side <= 13
        small = from_uint8(info["own"])[None]
        assert (downsample(small, 8) - from_uint8(same)[None]).abs().mean() < 0.1  # the same picture, finer


def test_each_step_happens_at_its_rate(faces):
    rng = np.random.default_rng(1)
    infos = [degrade_face(faces[i % len(faces)], 8, rng)[1] for i in range(N)]
    tol = 3 * np.sqrt(0.25 / N)  # three standard errors of a rate
    for key, p in (("grey", degrade.P_GREY), ("blur", degrade.P_BLUR), ("colour", degrade.P_COLOUR),
                   ("noise", degrade.P_NOISE), ("jpeg", degrade.P_JPEG)):
        rate = np.mean([bool(i[key]) for i in infos])
        assert abs(rate - p) < tol, (key, rate, p)
    shifts = np.array([i["shift"] for i in infos])
    assert np.all(np.abs(shifts.std(0) - degrade.SHIFT_SIGMA) < 0.2 * degrade.SHIFT_SIGMA)  # the box jitters
    assert abs(np.std([i["log_scale"] for i in infos]) - degrade.SCALE_SIGMA) < 0.2 * degrade.SCALE_SIGMA
    sizes = np.array([i["face_px"] for i in infos])
    assert sizes.min() >= degrade.FACE_PX[0] and sizes.max() <= degrade.FACE_PX[1]
    assert {i["resample"] for i in infos} == set(degrade.RESAMPLERS)


def test_grey_inputs_are_grey(faces, monkeypatch):
    monkeypatch.setattr(degrade, "P_GREY", 1.0)
    monkeypatch.setattr(degrade, "P_JPEG", 0.0)  # JPEG's chroma rounding would tint the grey a little
    out, info = degrade_face(faces[0], 8, np.random.default_rng(2))
    assert info["grey"] and np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def test_without_degradations_the_crop_is_the_clean_input(faces, monkeypatch):
    """All steps off and no jitter: what remains (an 8-16 px face, resampled, cut as the
    pipeline cuts it) is close to the paper's bicubic D, so the crop is where the face is."""
    for name in ("P_BLUR", "P_COLOUR", "P_GREY", "P_NOISE", "P_JPEG", "SHIFT_SIGMA", "SCALE_SIGMA"):
        monkeypatch.setattr(degrade, name, 0.0)
    x = from_uint8(faces)
    clean = downsample(x, 8)
    err = (degrade_batch(x, 8, np.random.default_rng(3)) - clean).abs().mean().item() * 127.5
    shifted = (torch.roll(clean, 1, dims=-1) - clean).abs().mean().item() * 127.5
    assert err < 8 and err < shifted / 2, (err, shifted)


def test_stage_inputs_follow_the_option_and_the_step(tmp_path):
    from vidsr.models.presets import get_preset
    from vidsr.train.context import TrainContext
    from vidsr.train.stages.common import LowResInputs

    rng = np.random.default_rng(4)
    x = from_uint8(np.stack([synthetic_face(rng, 16) for _ in range(4)]))
    clean = LowResInputs(TrainContext.create(get_preset("tiny"), None, tmp_path, "cpu", options={"degrade": False, "clean_share": 0.0}))
    x_in, x_l = clean(x, 3)
    assert x_in is x_l and torch.equal(x_l, downsample(x, 8))
    ctx = TrainContext.create(get_preset("tiny"), None, tmp_path, "cpu", options={"degrade": True, "clean_share": 0.0})
    inputs = LowResInputs(ctx)
    a, target = inputs(x, 3)
    assert torch.equal(target, downsample(x, 8)) and not torch.equal(a, target)  # the target stays clean
    assert torch.equal(a, LowResInputs(ctx)(x, 3)[0])  # a step's degradations depend only on seed and step
    assert not torch.equal(a, inputs(x, 4)[0]) and torch.equal(inputs(x)[0], inputs(x)[0])
    assert inputs.recorded == {"degrade": True, "degrade_crop_scale": 1.2, "clean_share": 0.0}


def test_a_clean_share_of_the_rows_keeps_the_clean_input(tmp_path):
    from vidsr.models.presets import get_preset
    from vidsr.train.context import TrainContext
    from vidsr.train.stages.common import LowResInputs

    rng = np.random.default_rng(5)
    x = from_uint8(np.stack([synthetic_face(rng, 16) for _ in range(64)]))
    target = downsample(x, 8)

    def inputs(share):
        return LowResInputs(TrainContext.create(get_preset("tiny"), None, tmp_path, "cpu",
                                                options={"degrade": True, "clean_share": share}))

    mixed = inputs(0.5)
    a = mixed(x, 7)[0]
    kept = (a == target).flatten(1).all(1)
    assert 16 < int(kept.sum()) < 48  # about half the rows are the clean D
    degraded = inputs(0.0)(x, 7)[0]
    assert torch.equal(a[~kept], degraded[~kept])  # the others are degraded as with no clean share
    assert torch.equal(a, mixed(x, 7)[0]) and torch.equal(inputs(1.0)(x, 7)[0], target)
    assert torch.equal(mixed(x)[0], inputs(0.0)(x)[0])  # the sample grids: all degraded
    with pytest.raises(VidsrError, match="clean_share"):
        inputs(1.5)
