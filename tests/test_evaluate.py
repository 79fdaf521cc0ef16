"""vidsr evaluate: PSNR/SSIM, the classifiers and lapsrn stages, the report on a tiny model."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vidsr.errors import VidsrError
from vidsr.eval.metrics import gaussian_window, psnr, ssim
from vidsr.train.api import train

COMMON = dict(preset="tiny", sample_every=1000, checkpoint_every=1000)


def _ssim_by_hand(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM of one-channel images, window by window (the definition, without convolutions)."""
    w = gaussian_window().numpy()
    c1, c2 = 0.01**2, 0.03**2
    vals = []
    for i in range(x.shape[0] - 10):
        for j in range(x.shape[1] - 10):
            a, b = x[i:i + 11, j:j + 11], y[i:i + 11, j:j + 11]
            ma, mb = (w * a).sum(), (w * b).sum()
            va, vb = (w * (a - ma) ** 2).sum(), (w * (b - mb) ** 2).sum()
            cov = (w * (a - ma) * (b - mb)).sum()
            vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma**2 + mb**2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_psnr_and_ssim_known_values():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 24, 24, generator=g) * 0.8 + 0.1
    assert torch.isinf(psnr(x, x)).all()
    assert torch.allclose(ssim(x, x), torch.ones(2))
    assert torch.allclose(psnr(x, x + 0.1), torch.full((2,), 20.0), atol=1e-4)  # mse 0.01 -> 20 dB
    y = (x + 0.05 * torch.randn(x.shape, generator=g)).clamp(0, 1)
    ours = ssim(x, y)
    assert (ours < 1).all() and (ours > 0).all()
    try:
        from skimage.metrics import structural_similarity
    except ImportError:
        ref = [np.mean([_ssim_by_hand(x[b, c].double().numpy(), y[b, c].double().numpy()) for c in range(3)])
               for b in range(2)]
    else:
        ref = [structural_similarity(x[b].permute(1, 2, 0).double().numpy(), y[b].permute(1, 2, 0).double().numpy(),
                                     gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1.0,
                                     channel_axis=-1) for b in range(2)]
        # and the hand-written definition agrees with scikit-image on one channel
        assert _ssim_by_hand(x[0, 0].double().numpy(), y[0, 0].double().numpy()) == pytest.approx(
            structural_similarity(x[0, 0].double().numpy(), y[0, 0].double().numpy(), gaussian_weights=True,
                                  sigma=1.5, use_sample_covariance=False, data_range=1.0), abs=1e-6)
    assert ours.numpy() == pytest.approx(np.array(ref), abs=1e-5)


def _stats(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


def test_classifiers_and_lapsrn_losses_fall(tiny_set, tmp_path):
    train("classifiers", tiny_set, tmp_path, steps=60, log_every=10, **COMMON)
    rows = _stats(tmp_path / "classifiers")
    assert np.mean([r["loss_g"] for r in rows[-2:]]) < np.mean([r["loss_g"] for r in rows[:2]])
    report = json.loads((tmp_path / "classifiers" / "classifiers.json").read_text())
    assert report["C_g"]["trained"] and report["C_g"]["samples"] > 0
    assert report["C_i"]["trained"] is False and report["C_i"]["reason"]
    train("lapsrn", tiny_set, tmp_path, steps=40, log_every=5, **COMMON)
    rows = _stats(tmp_path / "lapsrn")
    assert rows[-1]["loss"] < rows[0]["loss"]
    from vidsr.models.lapsrn import load_lapsrn

    net = load_lapsrn(tmp_path / "lapsrn" / "weights.safetensors")
    assert net(torch.zeros(1, 3, 8, 8)).shape == (1, 3, 16, 16)


def test_identity_classifier_needs_several_videos(tmp_path):
    """C_i is trained on a set whose test identities appear in training in other videos."""
    from vidsr.data.shards import ShardWriter
    from vidsr.models.classifiers import load_classifiers
    from vidsr.train.stages.classifiers import identity_classes

    rng = np.random.default_rng(0)
    with ShardWriter(tmp_path / "set", hr_size=16) as w:
        for person in range(4):
            colour = rng.integers(0, 255, 3)
            for video, split in ((0, "d1"), (1, "d2"), (2, "test")):
                for clip in range(2):
                    face = np.clip(colour + rng.normal(0, 10, (16, 16, 3)), 0, 255).astype(np.uint8)
                    w.add(split, face, np.zeros(64000, np.int16), f"p{person}", gender=person % 2,
                          video=f"p{person}-v{video}", clip=clip)
    classes, reason = identity_classes(tmp_path / "set")
    assert len(classes) == 4 and reason == ""
    train("classifiers", tmp_path / "set", tmp_path / "runs", steps=6, log_every=2, **COMMON)
    nets = load_classifiers(tmp_path / "runs" / "classifiers" / "weights.safetensors")
    assert set(nets) == {"C_g", "C_i"} and nets["C_i"].classes.tolist() == classes
    report = json.loads((tmp_path / "runs" / "classifiers" / "classifiers.json").read_text())
    assert report["C_i"]["trained"] and report["C_i"]["samples"] == 8


@pytest.fixture(scope="module")
def tiny_runs(tiny_weights, tiny_set, tmp_path_factory) -> Path:
    """Every stage the evaluation reads, trained for a few steps on the tiny preset."""
    runs = tmp_path_factory.mktemp("evalruns") / "runs"
    shutil.copytree(tiny_weights.parent, runs, ignore=shutil.ignore_patterns("*.safetensors.partial"))
    for stage, overrides in (("fusion", {"layers": 3}), ("fusion", {"finetune_audio": False}), ("classifiers", None),
                             ("lapsrn", None)):
        train(stage, tiny_set, runs, steps=4, overrides=overrides, **COMMON)
    return runs


def _png_size(path: Path) -> tuple[int, int]:
    import cv2

    img = cv2.imread(str(path))
    assert img is not None, path
    return img.shape[:2]


def test_evaluate_writes_every_row(tiny_set, tiny_weights, tiny_runs, tmp_path):
    from vidsr.eval import evaluate

    out = tmp_path / "report"
    r = evaluate(tiny_set, tiny_weights, tiny_runs, out, split="d2", limit=24, identity_limit=4)
    data = json.loads((out / "report.json").read_text())
    assert data["samples"] == 24
    rows = data["rows"]
    for key in ("hr", "eh", "el", "ea", "f", "f3", "ffixed", "bicubic", "lapsrn"):
        assert rows[key]["available"], (key, rows[key]["missing"])
        assert 0 <= rows[key]["gender"]["C_g"]["accuracy"] <= 1
        assert rows[key]["gender"]["C_g"]["n"] == 24
    for key in ("eh", "el", "ea", "f", "bicubic", "lapsrn"):
        assert np.isfinite(rows[key]["psnr"]) and 0 < rows[key]["psnr"] < 60
        assert -1 <= rows[key]["ssim"] <= 1
    assert rows["hr"]["identity"]["C_i"] is None and "C_i" in data["missing_networks"]
    if data["judges"]["identity_queries"]:
        e = rows["f"]["identity"]["embedding"]
        assert e["n"] == 4 and 0 <= e["rank1"] <= 1 and e["distance"] >= 0
    swap = data["swap"]
    assert swap["pairs"] > 0 and 0 <= swap["swap_f"]["C_g"]["other_voice_follows_voice"] <= 1
    effect = swap["swap_f"]["C_g"]["other_voice_vs_no_voice"]
    assert effect["gained"] + effect["lost"] <= swap["pairs"] and 0 <= effect["p"] <= 1
    md = (out / "report.md").read_text()
    for label in ("Table 1", "Table 2", "Audio swap", "(a) E_h only", "(f) F + fixed E_a", "LapSRN", "Bicubic"):
        assert label in md
    assert "C_i (our identity classifier): missing:" in md
    for name in ("fig3-ablations.png", "fig4-baselines.png", "fig5-mixing.png"):
        h, w = _png_size(out / name)
        assert h > 128 and w > 5 * 128, name
        assert f"]({name})" in md
    assert r["figures"]["fig5"] == "fig5-mixing.png"
    assert not list(out.glob(".*.partial"))


def test_evaluate_marks_missing_rows(tiny_set, tiny_weights, tmp_path):
    from vidsr.eval import evaluate

    out = tmp_path / "report"
    evaluate(tiny_set, tiny_weights, None, out, split="d2", limit=8, identity_limit=0)
    data = json.loads((out / "report.json").read_text())
    rows = data["rows"]
    assert rows["f"]["available"] and rows["el"]["available"] and rows["bicubic"]["available"]
    for key in ("eh", "ea", "f3", "ffixed", "lapsrn"):
        assert not rows[key]["available"] and "no --runs given" in rows[key]["missing"]
    md = (out / "report.md").read_text()
    assert md.count("missing: no --runs given") >= 5
    assert rows["f"]["gender"]["C_g"] is None  # no classifiers run: C_g is missing, not failing


def test_evaluate_without_the_optional_judges(tiny_set, tiny_runs, tmp_path, monkeypatch):
    """Without vidsr[eval]: the pretrained rows say "not installed", identity falls back to E_h codes."""
    from vidsr.eval import evaluate, judges

    monkeypatch.setattr(judges, "installed", lambda module: False)
    out = tmp_path / "report"
    evaluate(tiny_set, None, tiny_runs, out, split="d2", limit=8)
    data = json.loads((out / "report.json").read_text())
    assert "not installed" in data["judges"]["pretrained_gender"] and "vidsr[eval]" in data["judges"]["pretrained_gender"]
    assert "E_h codes" in data["judges"]["identity_embedder"]
    assert data["rows"]["f"]["gender"]["pretrained"] is None
    assert 0 <= data["rows"]["f"]["identity"]["embedding"]["rank1"] <= 1
    md = (out / "report.md").read_text()
    assert "not installed" in md and "fallback" in md


def test_runs_alone_evaluates_the_runs_own_networks(capsys, tiny_set, tiny_runs, tmp_path):
    """`--runs` without `--weights`: G and the encoders come from the run, never from the shipped
    model (E_h was trained against the run's G; the shipped G is another one)."""
    from test_cli import run_main

    out = tmp_path / "report"
    code, _, err = run_main(capsys, "evaluate", "--data", str(tiny_set), "--runs", str(tiny_runs), "--split", "d2",
                            "--limit", "8", "--identity-limit", "0", "-o", str(out))
    assert code == 0, err
    sources = json.loads((out / "report.json").read_text())["sources"]
    for key in ("G", "E_l", "E_h"):
        assert sources[key].startswith(str(tiny_runs)), (key, sources[key])


def _cli(*args):
    code = ("import sys; from vidsr.cli import app as a, evaluate as e\n"
            "if 'evaluate' not in [c.name for c in a.app.registered_commands]: a.app.command('evaluate')(e.evaluate)\n"
            "sys.argv = ['vidsr', *sys.argv[1:]]; a.main()")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_bad_data_is_one_clear_line(tmp_path, tiny_weights):
    r = _cli("evaluate", "--data", str(tmp_path / "nowhere"), "--weights", str(tiny_weights), "-o", str(tmp_path / "o"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "no prepared set" in lines[0] and "Traceback" not in r.stderr
    with pytest.raises(VidsrError, match="nothing to evaluate"):
        from vidsr.eval.networks import load_networks_for_eval

        load_networks_for_eval(None, None, torch.device("cpu"))


def test_voice_effect_counts_paired_changes():
    from vidsr.eval.run import voice_effect

    target = np.array([1, 1, 0, 0, 1, 0])
    without = np.array([0, 1, 1, 0, 0, 1])  # right for faces 1, 3
    with_voice = np.array([1, 1, 0, 1, 1, -1])  # right for 0, 1, 2, 4; face 5 unjudged
    paired = np.array([True, True, True, True, True, True])
    e = voice_effect(with_voice, without, target, paired)
    assert (e["gained"], e["lost"]) == (3, 1)  # gained 0, 2, 4; lost 3
    assert e["p"] == 0.625  # exact two-sided sign test of 3 vs 1
