"""R, the fidelity path (vidsr/models/fidelity.py), its training stage and its model files."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from vidsr.errors import VidsrError
from vidsr.models.facesr import FaceSR
from vidsr.models.fidelity import FidelityNet
from vidsr.models.io import networks_in
from vidsr.models.presets import get_preset
from vidsr.train.api import train
from vidsr.train.export import export


@pytest.mark.parametrize("name", ["tiny", "cpu"])
@pytest.mark.parametrize("prior", [True, False])
def test_an_untrained_R_is_the_zoom_of_the_own_pixels(name, prior):
    """to_rgb starts at zero: before training, R's face is bicubic from the own pixels exactly,
    the honest baseline, whatever G's features say."""
    p = get_preset(name)
    torch.manual_seed(0)
    R = FidelityNet(p, prior=prior)
    model = FaceSR(p)
    own = torch.rand(3, 3, 12, 12) * 2 - 1
    u = R.zoom(own)
    feats = model.G.features(torch.randn(3, p.num_ws, p.z_dim))[1] if prior else None
    assert u.shape == (3, 3, p.resolution, p.resolution)
    assert torch.equal(R(u, feats), u)
    assert R.levels[-1] == p.resolution


def test_G_features_end_in_the_image_G_draws():
    p = get_preset("tiny")
    G = FaceSR(p).G
    z = torch.randn(2, p.num_ws, p.z_dim)
    image, feats = G.features(z)
    assert torch.equal(image, G(z))
    assert sorted(feats) == [4, 8, 16] and feats[16].shape[-1] == 16


def _runs_with_judges(tiny_weights, tiny_set, root):
    """A runs folder with the tiny model's G / D and E_h, and our C_g, as the fidelity stage reads them."""
    runs = root / "runs"
    for stage in ("generator", "highres"):
        shutil.copytree(tiny_weights.parent / stage, runs / stage)
    train("classifiers", tiny_set, runs, preset="tiny", steps=2, checkpoint_every=1000, sample_every=1000)
    return runs


def test_fidelity_stage_trains_resumes_exactly_and_exports(tiny_weights, tiny_set, tmp_path):
    base = _runs_with_judges(tiny_weights, tiny_set, tmp_path)
    common = dict(preset="tiny", log_every=1, sample_every=1000)
    with pytest.raises(VidsrError, match="--init"):
        train("fidelity", tiny_set, base, steps=1, checkpoint_every=1000, **common)
    init = {"init": str(tiny_weights)}
    shutil.copytree(base, tmp_path / "straight")
    shutil.copytree(base, tmp_path / "resumed")
    train("fidelity", tiny_set, tmp_path / "straight", steps=6, checkpoint_every=3, overrides=init, **common)
    train("fidelity", tiny_set, tmp_path / "resumed", steps=3, checkpoint_every=3, overrides=init, **common)
    train("fidelity", tiny_set, tmp_path / "resumed", steps=6, checkpoint_every=3, overrides=init, resume=True, **common)
    a = load_file(tmp_path / "straight" / "fidelity" / "weights.safetensors")
    b = load_file(tmp_path / "resumed" / "fidelity" / "weights.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert a["R.to_rgb.weight"].abs().sum() > 0  # trained: R no longer returns the zoom alone
    rows = [json.loads(line) for line in (tmp_path / "straight" / "fidelity" / "stats.jsonl").read_text().splitlines()]
    assert {"pixel_l1", "zoom_l1", "loss_feat", "identity_l1", "gender_ce"} <= set(rows[0])
    recorded = json.loads((tmp_path / "straight" / "fidelity" / "options.json").read_text())
    assert recorded["prior"] is True and recorded["init"] == str(tiny_weights) and recorded["perceptual"] == "discriminator"

    # the model file: the base's G, E_l, E_a, F and the run's R; it draws from the own pixels
    out = export(tmp_path / "straight", tmp_path / "with-R.safetensors", base=tiny_weights, half=False)
    assert sorted(networks_in(out)) == ["E_a", "E_l", "F", "G", "R"]
    model, plain = FaceSR.load(out), FaceSR.load(tiny_weights)
    assert model.reads_pixels and not plain.reads_pixels
    for key, value in plain.G.state_dict().items():
        assert torch.equal(value, model.G.state_dict()[key])
    z = torch.randn(2, model.preset.num_ws, model.preset.z_dim)
    own = torch.rand(2, 3, 10, 10) * 2 - 1
    with torch.inference_mode():
        face = model.draw(z, own, 0, 0.0, 1.0)
        again = model.R(model.R.zoom(own), model.G.features(z)[1])
    assert face.shape == (2, 3, 16, 16) and torch.allclose(face, again)


def test_the_regression_baseline_reads_no_prior(tiny_weights, tiny_set, tmp_path):
    """prior off: R without G's features, pixel loss alone; the model file says so and loads so."""
    runs = _runs_with_judges(tiny_weights, tiny_set, tmp_path)
    common = dict(preset="tiny", steps=2, checkpoint_every=1000, sample_every=1000)
    plain = {"init": str(tiny_weights), "prior": False, "feat_weight": 0.0, "identity_weight": 0.0, "gender_weight": 0.0}
    with pytest.raises(VidsrError, match="prior off"):
        train("fidelity", tiny_set, runs, overrides={**plain, "gender_weight": 1.0}, **common)
    train("fidelity", tiny_set, runs, overrides=plain, **common)
    model = FaceSR.load(export(runs, tmp_path / "plain.safetensors", base=tiny_weights))
    assert model.R is not None and not model.R.prior
    rows = (runs / "fidelity" / "stats.jsonl").read_text()
    assert "gender_ce" not in rows and "pixel_l1" in rows
