"""The five training stages on the tiny preset: shapes, falling losses, checkpoints, resume."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from vidsr.errors import VidsrError, WeightsError
from vidsr.models.discriminator import Discriminator
from vidsr.models.encoders import AudioEncoder, HighResEncoder, LowResEncoder
from vidsr.models.fusion import Fusion
from vidsr.models.generator import Generator
from vidsr.models.io import atomic_save, load_networks, networks_in, read_metadata, save_networks
from vidsr.models.presets import Preset, get_preset
from vidsr.train.api import train
from vidsr.train.checkpoint import Checkpointer


def stats(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("name", ["tiny", "cpu"])
def test_network_shapes(name):
    p = get_preset(name)
    k, d = p.latent_shape
    assert k == 2 * int(torch.log2(torch.tensor(p.resolution))) - 2
    with torch.no_grad():
        z = HighResEncoder(p)(torch.randn(2, 3, p.resolution, p.resolution))
        assert z.shape == (2, k, d)
        assert LowResEncoder(p)(torch.randn(2, 3, p.lr_size, p.lr_size)).shape == (2, k, d)
        z_a = AudioEncoder(p)(torch.randn(2, 1, 257, 257))
        assert z_a.shape == (2, k, d)
        for layers in (1, 3):
            f = Fusion(p, layers)
            assert torch.equal(f(z, z_a), z)  # the residual starts at zero: z_f = z_l
        img = Generator(p)(z)
        assert img.shape == (2, 3, p.resolution, p.resolution)
        assert Generator(p)(torch.randn(2, d)).shape == img.shape  # one z broadcast to all k layers
        assert Discriminator(p)(img).shape == (2, 1)


def test_paper_generator_has_twelve_codes_of_512():
    p = get_preset("paper")
    assert (p.num_ws, p.z_dim, p.resolution, p.lr_size) == (12, 512, 128, 8)
    assert Generator(p).num_ws == 12


def test_all_stages_run_and_losses_fall(tiny_set, tmp_path):
    runs = tmp_path / "runs"
    common = dict(preset="tiny", log_every=5, sample_every=1000, checkpoint_every=1000)
    train("generator", tiny_set, runs, steps=10, **common)
    steps = {"highres": 60, "lowres": 60, "audio": 40, "fusion": 40}
    for stage, n in steps.items():
        (weights,) = train(stage, tiny_set, runs, steps=n, **common)
        assert weights.exists()
        rows = stats(runs / stage)
        key = {"highres": "loss_feat", "audio": "l1_code"}.get(stage, "loss")
        first, last = rows[0][key], rows[-1][key]
        assert last < first, f"{stage}: {key} went from {first} to {last}"
        assert (runs / stage / "samples").is_dir() and list((runs / stage / "samples").glob("*.png"))
    audio = stats(runs / "audio")
    assert "gender_ce" in audio[0] and json.loads((runs / "audio" / "options.json").read_text())["gender_weight"] > 0
    assert networks_in(runs / "audio" / "weights.safetensors") == ["E_a"]  # the voice-gender head is training-only
    opts = json.loads((runs / "highres" / "options.json").read_text())
    assert opts["perceptual"] == "discriminator"  # no VGG16 weights here: the documented fallback
    for variant, overrides in (("fusion-f3", {"layers": 3}), ("fusion-fixed", {"finetune_audio": False})):
        train("fusion", tiny_set, runs, steps=3, overrides=overrides, **common)
        assert (runs / variant / "weights.safetensors").exists()


def _assert_resume_is_exact(tiny_set, tmp_path, steps: int, **common) -> None:
    """G trained `steps` straight (tmp_path/straight) equals G trained half, killed, resumed
    (tmp_path/resumed); a checkpoint at the half-way step."""
    half = steps // 2
    train("generator", tiny_set, tmp_path / "straight", steps=steps, checkpoint_every=half, **common)
    train("generator", tiny_set, tmp_path / "resumed", steps=half, checkpoint_every=half, **common)
    train("generator", tiny_set, tmp_path / "resumed", steps=steps, checkpoint_every=half, resume=True, **common)
    p = get_preset("tiny")
    a, b = Generator(p), Generator(p)
    load_networks(tmp_path / "straight" / "generator" / "weights.safetensors", {"G": a})
    load_networks(tmp_path / "resumed" / "generator" / "weights.safetensors", {"G": b})
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.allclose(x, y, atol=1e-6), name


def test_resume_continues_exactly(tiny_set, tmp_path):
    common = dict(preset="tiny", log_every=2, sample_every=1000)
    _assert_resume_is_exact(tiny_set, tmp_path, steps=8, **common)
    assert [r["step"] for r in stats(tmp_path / "resumed" / "generator")] == [2, 4, 6, 8]


def test_adaptive_augmentation_adapts_and_resumes_exactly(tiny_set, tmp_path):
    # a target under any r_t makes p rise at every update, and a tiny ada_kimg makes it rise
    # fast, so the augmentations really run
    common = dict(preset="tiny", log_every=2, sample_every=1000,
                  overrides={"ada_target": -1.0, "ada_kimg": 0.002})
    _assert_resume_is_exact(tiny_set, tmp_path, steps=12, **common)
    straight = stats(tmp_path / "straight" / "generator")
    assert [r["ada_p"] for r in straight] == [r["ada_p"] for r in stats(tmp_path / "resumed" / "generator")]
    assert straight[-1]["ada_p"] > 0.3
    assert all(-1.0 <= r["rt"] <= 1.0 for r in straight)


def _cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "vidsr", *args], capture_output=True, text=True, **kw)


def test_kill_then_resume_keeps_checkpoints(tiny_set, tmp_path):
    args = ["train", "--stage", "generator", "--preset", "tiny", "--data", str(tiny_set), "--runs", str(tmp_path),
            "--steps", "400", "--checkpoint-every", "5", "--threads", "1"]
    proc = subprocess.Popen([sys.executable, "-m", "vidsr", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = Checkpointer(tmp_path / "generator" / "checkpoints", get_preset("tiny"))
    deadline = time.time() + 120
    while (ckpt.latest_step() or 0) < 10 and time.time() < deadline:
        time.sleep(0.2)
    proc.kill()
    proc.wait()
    killed_at = ckpt.latest_step()
    assert killed_at and killed_at >= 10
    again = _cli(*args[:-6], "--steps", str(killed_at + 10), "--checkpoint-every", "5", "--resume")
    assert again.returncode == 0, again.stderr
    assert ckpt.latest_step() == killed_at + 10
    assert (tmp_path / "generator" / "weights.safetensors").exists()
    # Without --resume the same folder is refused with one clear line.
    refused = _cli(*args[:-6], "--steps", "5")
    assert refused.returncode != 0 and "--resume" in refused.stderr and "Traceback" not in refused.stderr


def test_corrupt_and_mismatched_checkpoints_are_clear_errors(tiny_set, tmp_path):
    train("generator", tiny_set, tmp_path, preset="tiny", steps=3, checkpoint_every=3)
    state = tmp_path / "generator" / "checkpoints" / "state-00000003.safetensors"
    state.write_bytes(state.read_bytes()[:100])
    r = _cli("train", "--stage", "generator", "--preset", "tiny", "--data", str(tiny_set), "--runs", str(tmp_path),
             "--steps", "6", "--resume")
    assert r.returncode != 0
    assert "corrupt" in r.stderr and "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    # Weights of one preset do not load into another.
    path = tmp_path / "g.safetensors"
    save_networks(path, {"G": Generator(get_preset("tiny"))}, get_preset("tiny"))
    with pytest.raises(WeightsError, match="shape|lacks"):
        load_networks(path, {"G": Generator(get_preset("cpu"))})
    not_weights = tmp_path / "x.safetensors"
    not_weights.write_text("hello")
    with pytest.raises(WeightsError, match="not a valid weights file"):
        load_networks(not_weights, {"G": Generator(get_preset("tiny"))})


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_train_like_one_on_the_same_global_batch(tmp_path):
    """Data parallelism: both ranks end with the same weights, and they are those of one
    process that took every global batch whole (the gradients are averaged, not summed or
    left apart)."""
    from safetensors.torch import load_file

    script = str(Path(__file__).with_name("ddp_steps.py"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                        str(_free_port()), script, str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    r = subprocess.run([sys.executable, script, str(tmp_path)], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    rank0, rank1, alone = (load_file(tmp_path / f"rank-{n}.safetensors") for n in ("0-of-2", "1-of-2", "0-of-1"))
    start = LowResEncoder(get_preset("tiny")).state_dict()
    for name, w in alone.items():
        assert torch.equal(rank0[name], rank1[name]), name
        assert torch.allclose(rank0[name], w, atol=1e-5), (name, (rank0[name] - w).abs().max())
    assert any(not torch.allclose(alone[n], start[n]) for n in start)  # the steps did change the weights


def test_two_process_training_run_on_cpu(tiny_set, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
         "-m", "vidsr", "train", "--stage", "generator", "--preset", "tiny", "--data", str(tiny_set), "--runs",
         str(tmp_path), "--steps", "4", "--device", "cpu", "--threads", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "generator" / "options.json").read_text())["world_size"] == 2
    assert stats(tmp_path / "generator")[-1]["step"] == 4


def test_balanced_gender_loss_weighs_both_genders_alike():
    from vidsr.train.stages.fusion import class_weights

    labels = torch.tensor([0, 0, 0, 1])
    assert torch.allclose(class_weights(labels), torch.tensor([4 / 6, 2.0]))
    logits = torch.randn(4, 2)
    per_row = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    balanced = torch.nn.functional.cross_entropy(logits, labels, weight=class_weights(labels))
    assert torch.allclose(balanced, (per_row[:3].mean() + per_row[3]) / 2)  # the mean of the per-gender means
    men = torch.tensor([1, 1])  # a batch of one gender: the plain cross-entropy
    assert torch.allclose(torch.nn.functional.cross_entropy(logits[:2], men, weight=class_weights(men)),
                          torch.nn.functional.cross_entropy(logits[:2], men))


def test_fusion_listens_options_and_warm_start(tiny_set, tmp_path):
    """The fusion stage's additions (gender loss through our frozen C_g, pixel L1, F's residual
    kept small, l_feat on the fused face, ambiguous inputs) train and are recorded; E_l's l_feat likewise; ``init`` starts
    a stage from another run's networks."""
    runs = tmp_path / "runs"
    common = dict(preset="tiny", log_every=2, sample_every=1000, checkpoint_every=1000)
    for stage in ("generator", "highres", "lowres", "audio"):
        train(stage, tiny_set, runs, steps=4, **common)
    with pytest.raises(Exception, match="classifiers"):
        train("fusion", tiny_set, runs, steps=2, overrides={"gender_weight": 1.0}, **common)
    train("classifiers", tiny_set, runs, steps=4, **common)
    listen = {"gender_weight": 1.0, "gender_balance": True, "pixel_weight": 0.5, "keep_weight": 0.5, "feat_weight": 0.5,
              "ambiguous": 0.5}
    (weights,) = train("fusion", tiny_set, runs, steps=4, overrides=listen, **common)
    rows = stats(runs / "fusion")
    assert {"gender_ce", "gender_acc", "pixel_l1", "keep_l1", "loss_feat", "l1_code", "sr_mse"} <= set(rows[0])
    recorded = json.loads((runs / "fusion" / "options.json").read_text())
    assert all(recorded[k] == v for k, v in listen.items()) and recorded["perceptual"] == "discriminator"
    assert sorted(networks_in(weights)) == ["E_a", "F"]  # C_g is training-only
    train("fusion", tiny_set, runs, steps=2, overrides={**listen, "layers": 3}, **common)
    assert (runs / "fusion-f3" / "weights.safetensors").exists()
    # E_l's perceptual term on its face: trained, logged apart, recorded with the kind of l_feat
    feat = tmp_path / "feat"
    for stage in ("generator", "highres"):
        (feat / stage).mkdir(parents=True)
        (feat / stage / "weights.safetensors").write_bytes((runs / stage / "weights.safetensors").read_bytes())
    train("lowres", tiny_set, feat, steps=4, overrides={"feat_weight": 0.5}, **common)
    row = stats(feat / "lowres")[0]
    assert {"loss_feat", "l1_code", "sr_mse"} <= set(row) and row["loss"] > row["l1_code"] + 40.0 * row["sr_mse"]
    assert json.loads((feat / "lowres" / "options.json").read_text())["perceptual"] == "discriminator"
    assert "loss_feat" not in stats(runs / "lowres")[0]  # off in the presets: eq. (2) alone
    # warm start: with zero learning rate a warm-started E_h or E_l is the one it started from
    warm = tmp_path / "warm"
    train("generator", tiny_set, warm, steps=2, **common)
    p = get_preset("tiny")
    for stage, name, cls in (("highres", "E_h", HighResEncoder), ("lowres", "E_l", LowResEncoder)):
        src = runs / stage / "weights.safetensors"
        train(stage, tiny_set, warm, steps=2, overrides={"init": str(src), "lr": 0.0}, **common)
        a, b = cls(p), cls(p)
        load_networks(src, {name: a})
        load_networks(warm / stage / "weights.safetensors", {name: b})
        for (key, x), y in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(x, y), (name, key)
        assert json.loads((warm / stage / "options.json").read_text())["init"] == str(src)


def test_fusion_voice_only_never_sees_the_picture(tiny_set, tmp_path):
    """``voice_only``: F's weights for E_l's code start at zero and stay zero through training
    (F or F_3), so the trained F's residual is the same whatever z_l, while its voice weights learn."""
    runs = tmp_path / "runs"
    common = dict(preset="tiny", log_every=2, sample_every=1000, checkpoint_every=1000)
    for stage in ("generator", "highres", "lowres", "audio"):
        train(stage, tiny_set, runs, steps=2, **common)
    p = get_preset("tiny")
    for layers, folder in ((1, "fusion"), (3, "fusion-f3")):
        train("fusion", tiny_set, runs, steps=4, overrides={"voice_only": True, "layers": layers}, **common)
        assert json.loads((runs / folder / "options.json").read_text())["voice_only"] is True
        f = Fusion(p, layers=layers)
        load_networks(runs / folder / "weights.safetensors", {"F" if layers == 1 else "F_3": f})
        k = f.net[0].in_features // 2
        assert not f.net[0].weight[:, :k].any() and f.net[0].weight[:, k:].abs().sum() > 0
        z_a = torch.randn(3, *p.latent_shape)
        assert torch.equal(f.residual(torch.randn(3, *p.latent_shape), z_a), f.residual(torch.zeros(3, *p.latent_shape), z_a))
    # A picture term given by hand (research/scripts/fit_picture_term.py fits one) on the exported voice-only model.
    from vidsr.train.export import export

    voice_only = export(runs, tmp_path / "voice-only.safetensors")
    fitted = tmp_path / "fitted.safetensors"
    after = load_file(voice_only)
    k = after["F.net.0.weight"].shape[1] // 2
    after["F.net.0.weight"][:, :k] = 0.01 * torch.randn(after["F.net.0.weight"].shape[0], k, generator=torch.Generator().manual_seed(0))
    with safe_open(str(voice_only), "pt") as f:
        atomic_save(after, fitted, f.metadata())
    # fixed_picture: F and E_a start from the fitted file; F's z_l weights stay as fitted, its voice weights train on.
    shutil.rmtree(runs / "fusion")
    with pytest.raises(VidsrError, match="fixed_picture needs"):
        train("fusion", tiny_set, runs, steps=1, overrides={"fixed_picture": True, "voice_only": True, "init": str(fitted)}, **common)
    shutil.rmtree(runs / "fusion", ignore_errors=True)
    train("fusion", tiny_set, runs, steps=3, overrides={"fixed_picture": True, "init": str(fitted)}, **common)
    trained_f = load_file(runs / "fusion" / "weights.safetensors")
    assert torch.equal(trained_f["F.net.0.weight"][:, :k], after["F.net.0.weight"][:, :k].float())
    assert not torch.equal(trained_f["F.net.0.weight"][:, k:], after["F.net.0.weight"][:, k:].float())
    assert json.loads((runs / "fusion" / "options.json").read_text())["init"] == str(fitted)
    # voice_only from an init whose F sees the picture: the z_l weights are zeroed after the warm start.
    shutil.rmtree(runs / "fusion")
    train("fusion", tiny_set, runs, steps=1, overrides={"voice_only": True, "init": str(fitted)}, **common)
    assert not load_file(runs / "fusion" / "weights.safetensors")["F.net.0.weight"][:, :k].any()


def test_eh_grown_by_residual_blocks_starts_as_the_eh_it_grew_from(tmp_path):
    """Preset ``eh_blocks`` deepens E_h; a warm start from the E_h without blocks gives the same
    codes (the blocks start as the identity) and the blocks then train. An E_h file written
    before the option reads as eh_blocks 0; a plain load still refuses a file that lacks tensors."""
    p = get_preset("tiny")
    small = HighResEncoder(p)
    path = tmp_path / "eh.safetensors"
    save_networks(path, {"E_h": small}, p)
    grown = HighResEncoder(dataclasses.replace(p, eh_blocks=2))
    assert sum(q.numel() for q in grown.parameters()) > sum(q.numel() for q in small.parameters())
    with pytest.raises(WeightsError, match="lacks"):
        load_networks(path, {"E_h": grown})
    load_networks(path, {"E_h": grown}, grow=True)
    x = torch.randn(3, 3, p.resolution, p.resolution)
    assert torch.allclose(grown(x), small(x))
    grown(x).square().sum().backward()
    assert grown.blocks[1][0].body[-1].weight.grad.abs().sum() > 0
    old = {k: v for k, v in p.to_dict().items() if k != "eh_blocks"}
    assert Preset.from_dict(old).eh_blocks == 0


@pytest.mark.parametrize("stage", ["lowres", "fusion"])
def test_encoder_stages_resume_bit_for_bit(tiny_set, tmp_path, stage):
    """A stage fed by the prepared set's stream (here with degraded inputs, augmented voices and
    ambiguous rows) trained 6 steps straight equals 3 steps, killed, resumed to 6: the stream
    restarts at every checkpoint step in both, seeded by it."""
    common = dict(preset="tiny", log_every=1, sample_every=1000)
    base = tmp_path / "base"
    for before in ("generator", "highres", "lowres", "audio", "classifiers"):
        if before == stage:
            break
        train(before, tiny_set, base, steps=2, checkpoint_every=1000, **common)
    extra = {"degrade": True, "clean_share": 0.5}
    if stage == "fusion":
        extra |= {"gender_weight": 1.0, "pixel_weight": 0.5, "ambiguous": 0.5}
    shutil.copytree(base, tmp_path / "straight")
    shutil.copytree(base, tmp_path / "resumed")
    train(stage, tiny_set, tmp_path / "straight", steps=6, checkpoint_every=3, overrides=extra, **common)
    train(stage, tiny_set, tmp_path / "resumed", steps=3, checkpoint_every=3, overrides=extra, **common)
    train(stage, tiny_set, tmp_path / "resumed", steps=6, checkpoint_every=3, overrides=extra, resume=True, **common)
    a = load_file(tmp_path / "straight" / stage / "weights.safetensors")
    b = load_file(tmp_path / "resumed" / stage / "weights.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), name
    losses = [[r[k] for k in sorted(r) if k not in ("time", "img_per_s")] for r in stats(tmp_path / "straight" / stage)]
    assert losses == [[r[k] for k in sorted(r) if k not in ("time", "img_per_s")] for r in stats(tmp_path / "resumed" / stage)]


def test_learning_rate_ramps_down_and_resumes_exactly(tiny_set, tmp_path):
    """lr_rampdown 0.5: the lr holds for the first half of the steps, then falls along a half
    cosine to (nearly) 0 at the last step; a run killed at its checkpoint and resumed with
    the same --steps trains exactly as one straight run."""
    from vidsr.train.loop import lr_factor

    assert [lr_factor(s, 8, 0.5) for s in (0, 3, 4)] == [1.0, 1.0, 1.0]
    assert 0 < lr_factor(7, 8, 0.5) < lr_factor(6, 8, 0.5) < lr_factor(5, 8, 0.5) < 1
    assert lr_factor(7, 8, 0.0) == 1.0
    common = dict(preset="tiny", log_every=1, sample_every=1000)
    base = tmp_path / "base"
    train("generator", tiny_set, base, steps=2, checkpoint_every=1000, **common)
    for run in ("straight", "resumed"):
        shutil.copytree(base, tmp_path / run)
    ramp = {"lr_rampdown": 0.5}
    train("highres", tiny_set, tmp_path / "straight", steps=8, checkpoint_every=4, overrides=ramp, **common)

    def killed_at_4(stage, step, steps, losses):
        if step == 5:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train("highres", tiny_set, tmp_path / "resumed", steps=8, checkpoint_every=4, overrides=ramp,
              progress=killed_at_4, **common)
    train("highres", tiny_set, tmp_path / "resumed", steps=8, checkpoint_every=4, overrides=ramp, resume=True, **common)
    records = stats(tmp_path / "straight" / "highres")
    assert [r["lr_factor"] for r in records] == [lr_factor(s, 8, 0.5) for s in range(8)]
    a = load_file(tmp_path / "straight" / "highres" / "weights.safetensors")
    b = load_file(tmp_path / "resumed" / "highres" / "weights.safetensors")
    for name in a:
        assert torch.equal(a[name], b[name]), name
