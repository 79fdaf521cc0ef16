"""vidsr.data and vidsr.audio.augment: made voices, augmentation, prepared sets, prepare.

Uses real data from the shared folder (conftest.shared: 40 UTKFace photos and the two GRID
clips) and espeak-ng for the made voices (conftest.espeak); the tests that need either are
skipped without it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import espeak, shared
from vidsr.audio.augment import augment, band_limit, coloured_noise, eq, gain, noise, quantise, reverb
from vidsr.data.shards import ShardDataset, ShardWriter, iter_shard_tensors, open_set
from vidsr.data.utkface import parse_utkface_name
from vidsr.data.voices import SENTENCES, VoiceSpec, draw_voice, f0_range, synthesize
from vidsr.errors import VidsrError


@pytest.fixture
def voices() -> None:
    """The test makes voices: it needs espeak-ng."""
    espeak()


# ------------------------------------------------------------------------------ voices


def median_f0(wave: np.ndarray) -> float:
    import librosa

    f0, voiced, _ = librosa.pyin(wave, fmin=60, fmax=450, sr=16000, frame_length=1024, hop_length=512)
    return float(np.nanmedian(f0[voiced]))


def test_voices_are_4s_of_16khz_speech(voices):
    rng = np.random.default_rng(1)
    for gender, age in [(0, 30), (1, 30), (0, 6), (1, 80)]:
        wave = synthesize(draw_voice(rng, gender, age), SENTENCES[rng.integers(len(SENTENCES))], rng)
        assert wave.shape == (64000,) and wave.dtype == np.float32
        assert np.isfinite(wave).all() and np.abs(wave).max() <= 1.0
        loud = np.flatnonzero(np.abs(wave) > 1e-3)
        assert loud[0] <= 0.45 * 16000, "lead-in longer than 0.4 s"
        assert loud[-1] - loud[0] > 1.0 * 16000, "less than a second of speech"


def test_synthesize_is_reproducible(voices):
    spec = VoiceSpec("en-us+f2", 50, 160)
    assert np.array_equal(synthesize(spec, SENTENCES[0]), synthesize(spec, SENTENCES[0]))


def test_male_voices_are_lower_than_female_voices(voices):
    rng = np.random.default_rng(2)
    male = [median_f0(synthesize(draw_voice(rng, 0, 35), SENTENCES[i], rng)) for i in range(3)]
    female = [median_f0(synthesize(draw_voice(rng, 1, 35), SENTENCES[i], rng)) for i in range(3)]
    assert max(male) < min(female), (male, female)
    assert max(male) < 165 and min(female) > 150, (male, female)


def test_drawn_voices_stay_in_their_f0_range():
    rng = np.random.default_rng(3)
    for gender in (0, 1):
        for age in (-1, 5, 15, 30, 70):
            lo, hi = f0_range(gender, age)
            for _ in range(20):
                spec = draw_voice(rng, gender, age)
                assert 0 <= spec.pitch <= 99
                assert lo * 0.9 <= spec.expected_f0() <= hi * 1.1, (gender, age, spec)


def test_missing_espeak_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(VidsrError, match="espeak-ng not found: apt-get install espeak-ng"):
        synthesize(VoiceSpec("en+m3", 50, 160), SENTENCES[0])


# ------------------------------------------------------------------------ augmentation


def test_augment_keeps_length_and_values(voices):
    rng = np.random.default_rng(4)
    wave = synthesize(draw_voice(rng, 1, 30), SENTENCES[3], rng)
    for fn in (reverb, eq, band_limit, noise, quantise, gain):
        out = fn(wave, rng)
        assert out.shape == wave.shape and out.dtype == np.float32 and np.isfinite(out).all(), fn.__name__
    changed = 0
    for _ in range(20):
        out = augment(wave, rng)
        assert out.shape == wave.shape and out.dtype == np.float32
        assert np.isfinite(out).all() and np.abs(out).max() <= 1.0
        changed += not np.array_equal(out, wave)
    assert changed >= 10  # 85% of clips are augmented
    assert np.array_equal(augment(wave, rng, p=0.0), wave)
    for colour in ("white", "pink", "brown"):
        n = coloured_noise(64000, rng, colour)
        assert abs(np.sqrt(np.mean(n**2)) - 1) < 1e-3


# --------------------------------------------------------------------- prepared sets


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory) -> tuple[Path, dict]:
    from vidsr.data.prepare import prepare_photos

    espeak()
    out = tmp_path_factory.mktemp("sets") / "utk40"
    summary = prepare_photos(shared("utkface"), out, voices_per_person=3, hr_size=64, seed=0, limit=40, progress=False,
                             voices="made")
    return out, summary


def test_prepare_photos_splits_people_like_the_paper(photo_set):
    out, summary = photo_set
    meta = open_set(out)
    assert meta["format"] == "vidsr-shards/1" and meta["hr_size"] == 64 and meta["window_samples"] == 64000
    assert (out / "summary.md").read_text().startswith("# ")
    assert meta["summary"]["splits"] == summary["splits"]
    ids = {}
    for split in ("d1", "d2", "test"):
        found = set()
        for shard in iter_shard_tensors(out, split, keys=("identity",)):
            found |= {meta["identities"][i] for i in shard["identity"].tolist()}
        ids[split] = found
        assert meta["splits"][split]["count"] == summary["splits"][split]["samples"]
    assert ids["d1"] and ids["d1"] == ids["d2"]  # same people, different clips
    assert not ids["test"] & (ids["d1"] | ids["d2"])  # test people held out
    from vidsr.data.splits import is_test_identity

    assert all(is_test_identity(n) for n in ids["test"]) and not any(is_test_identity(n) for n in ids["d1"])
    assert summary["samples"] == 3 * len(ids["d1"] | ids["test"])  # 3 clips per person
    assert len(ids["d1"]) + len(ids["test"]) + sum(summary["skipped"].values()) == 40


def test_shard_dataset_yields_training_samples(photo_set):
    out, summary = photo_set
    ds = ShardDataset(out, ["d1", "d2"], augment_audio=True, epochs=1, seed=0)
    items = list(ds)
    assert len(items) == ds.num_samples == summary["splits"]["d1"]["samples"] + summary["splits"]["d2"]["samples"]
    for item in items[:10]:
        assert item["hr"].shape == (3, 64, 64) and item["hr"].dtype == torch.float32
        assert -1.0 <= item["hr"].min() and item["hr"].max() <= 1.0
        assert item["audio"].shape == (64000,) and item["audio"].dtype == torch.float32
        assert torch.isfinite(item["audio"]).all() and item["audio"].abs().max() <= 1.0
        assert item["gender"] in (0, 1) and item["age"] >= 0 and isinstance(item["identity"], int)
    keys = [(i["video"], i["clip"]) for i in items]
    assert len(set(keys)) == len(keys)  # every sample once per epoch
    small = next(iter(ShardDataset(out, "test", hr_size=32, with_audio=False, shuffle=False)))
    assert small["hr"].shape == (3, 32, 32) and "audio" not in small


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("workers", [2, 3])
def test_shard_dataset_splits_work_between_loader_workers(photo_set, workers):
    out, _ = photo_set
    ds = ShardDataset(out, ["d1", "d2"], epochs=1, with_audio=False)
    loader = torch.utils.data.DataLoader(ds, batch_size=4, num_workers=workers)
    keys = [k for b in loader for k in zip(b["video"].tolist(), b["clip"].tolist())]
    assert len(keys) == len(set(keys)) == ds.num_samples  # 2 shards: per shard; 3 readers: interleaved


def test_incomplete_set_is_a_clear_error(photo_set, tmp_path):
    out, _ = photo_set
    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    (partial / "meta.json").unlink()  # what a killed prepare leaves
    with pytest.raises(VidsrError, match="incomplete"):
        open_set(partial)
    with pytest.raises(VidsrError, match="incomplete"):
        ShardDataset(partial, "d1")
    with pytest.raises(VidsrError, match="no prepared set"):
        open_set(tmp_path / "nothing")
    (partial / "meta.json").write_text("{not json")
    with pytest.raises(VidsrError, match="not valid JSON"):
        open_set(partial)
    (partial / "meta.json").write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(VidsrError, match="vidsr-shards/1"):
        open_set(partial)


def test_writer_killed_midway_leaves_no_meta(tmp_path):
    out = tmp_path / "set"
    with pytest.raises(KeyboardInterrupt):
        with ShardWriter(out, hr_size=8, shard_size=2) as writer:
            for i in range(5):
                writer.add("d1", np.zeros((8, 8, 3), np.uint8), np.zeros(64000, np.float32), identity=f"p{i}")
            raise KeyboardInterrupt
    assert len(list((out / "shards").glob("*.safetensors"))) == 2 and not (out / "meta.json").exists()
    with pytest.raises(VidsrError, match="incomplete"):
        open_set(out)
    with ShardWriter(out, hr_size=8, shard_size=2) as writer:  # a new prepare replaces it
        writer.add("test", np.full((8, 8, 3), 255, np.uint8), np.ones(64000, np.float32), identity="q", gender=1, age=40)
    meta = open_set(out)
    assert meta["splits"]["test"]["count"] == 1 and meta["splits"]["d1"]["count"] == 0
    item = next(iter(ShardDataset(out, "test")))
    assert item["hr"].min() == 1.0 and item["gender"] == 1 and item["age"] == 40
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(VidsrError, match="not empty"):
        ShardWriter(tmp_path / "other")


def test_utkface_labels():
    lab = parse_utkface_name("26_1_2_20170116172803530.jpg.chip.jpg")
    assert (lab.age, lab.gender, lab.race) == (26, 1, 2)
    lab = parse_utkface_name("61_1_20170109142408075.jpg.chip.jpg")
    assert (lab.age, lab.gender, lab.race) == (61, 1, -1)
    assert parse_utkface_name("holiday.jpg").gender == -1


# The held-out test people: G was trained on everyone else, so they must never change.
TEST_PEOPLE = ("10_0_0_20170110220514186.jpg.chip.jpg", "10_0_0_20170110225243501.jpg.chip.jpg",  # utkface
               "10_1_2_20170116175840105.jpg.chip.jpg", "116_1_0_20170112213001988.jpg.chip.jpg",  # utkface-more
               "Aaron_Peirsol", "Abbas_Kiarostami", "Adam_Scott")  # lfw
TRAINING_PEOPLE = ("100_1_0_20170110183726390.jpg.chip.jpg", "100_0_0_20170112213500903.jpg.chip.jpg",
                   "AJ_Cook", "Aaron_Eckhart")


def test_test_people_are_pinned():
    from vidsr.data.splits import is_test_identity, split_of

    assert all(is_test_identity(p) and split_of(p, "0") == "test" for p in TEST_PEOPLE)
    assert not any(is_test_identity(p) for p in TRAINING_PEOPLE)


def test_test_people_of_the_three_photo_sources_are_pinned():
    import hashlib

    from vidsr.data.sources import list_photos
    from vidsr.data.splits import is_test_identity, photo_sides
    from vidsr.data.summary import Tally

    photos = list_photos([shared("utkface"), shared("utkface-more"), shared("lfw")], Tally())
    test = sorted({p.identity for p in photos if is_test_identity(p.identity)})
    assert (len(photos), len(test)) == (33233, 1416)
    assert hashlib.sha256("\n".join(test).encode()).hexdigest()[:16] == "f7c6615b690a01fe"
    sides = photo_sides(photos)
    assert sum(side == "test" for side in sides.values()) == 1933
    assert all((sides[p.path] == "test") == (p.identity in test) for p in photos)


# ------------------------------------------------------------------------------ videos


def test_prepare_videos_on_grid(tmp_path):
    from vidsr.data.prepare import prepare_videos

    out = tmp_path / "grid"
    summary = prepare_videos(shared("grid"), out, layout="folder", hr_size=64, every=1.0, progress=False)
    meta = open_set(out)
    assert sorted(meta["identities"]) == ["bbaf2n", "lbbc2a"]
    assert summary["samples"] >= 4, summary
    items = list(ShardDataset(out, ["d1", "d2", "test"], epochs=1, shuffle=False))
    assert len(items) == summary["samples"]
    for item in items:
        assert item["hr"].shape == (3, 64, 64)
        assert item["audio"].shape == (64000,) and item["audio"].abs().max() > 0.01  # real sound


# --------------------------------------------------------------------- CLI and example


def test_prepare_command(tmp_path, voices):
    import typer
    from typer.testing import CliRunner

    from vidsr.cli.prepare import prepare
    from vidsr.data.prepare import detect_kind

    app = typer.Typer()
    app.command()(prepare)
    out = tmp_path / "small"
    result = CliRunner().invoke(app, [str(shared("utkface")), "-o", str(out), "--hr-size", "32", "--limit", "4", "--voices-per-person", "2",
                                      "--voices", "made"])
    assert result.exit_code == 0, result.output
    assert open_set(out)["summary"]["samples"] == 8
    assert detect_kind(shared("utkface")) == "photos" and detect_kind(shared("grid")) == "videos"
    assert detect_kind(shared("lfw")) == "lfw"
    for bad in (["--kind", "nonsense"], ["--voices", "sung"], ["--framing", "wide"]):
        result = CliRunner().invoke(app, [str(shared("utkface")), "-o", str(out), *bad])
        assert result.exit_code != 0 and isinstance(result.exception, VidsrError), bad
    result = CliRunner().invoke(app, [str(shared("utkface")), str(shared("grid")), "-o", str(out)])
    assert isinstance(result.exception, VidsrError) and "photo folders" in str(result.exception)


def test_example_clip():
    from vidsr.media import probe

    clip = Path(__file__).resolve().parents[1] / "examples" / "astronaut.mp4"
    info = probe(clip)
    assert (info.width, info.height, info.fps) == (640, 360, 25)
    assert 4.0 <= info.duration <= 6.1 and info.has_audio
    assert clip.stat().st_size < 1_000_000
