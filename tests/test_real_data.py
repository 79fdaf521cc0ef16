"""Several photo sources in one set (UTKFace-style and LFW-style folders), real voices
(speechocean762), LFW framing.

Uses real data from the shared folder (conftest.shared): a few photos of utkface-more
(its four malformed names among them) and lfw copied into small folders, and 12 speakers of
speechocean762 cut to 20 s, so that a prepare takes seconds.
"""

from __future__ import annotations

import csv
import shutil
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from conftest import shared
from vidsr.data.real_voices import AGE_GROUPS, RealVoices, age_group, read_speakers
from vidsr.data.shards import iter_shard_tensors, open_set
from vidsr.data.splits import is_test_identity, is_test_speaker
from vidsr.errors import VidsrError

MALFORMED = ("24_0_1_20170116220224657 .jpg.chip.jpg", "39_1_20170116174525125.jpg.chip.jpg",
             "55_0_0_20170116232725357jpg.chip.jpg", "61_1_20170109150557335.jpg.chip.jpg")
SPEECH_S = 20


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> Path:
    """Two training speakers and one test speaker of each gender and age group, 20 s each."""
    from vidsr.media.audio import AudioStream, save_wav

    source = shared("speechocean762")
    out = tmp_path_factory.mktemp("speech")
    chosen = []
    for gender in (0, 1):
        for group in AGE_GROUPS:
            own = [s for s in read_speakers(source) if s.gender == gender and s.group == group]
            chosen += [s for s in own if not s.test][:2] + [s for s in own if s.test][:1]
    rows = [["speaker", "gender", "age", "utterances", "seconds"]]
    for s in chosen:
        with AudioStream(s.path) as stream:
            save_wav(out / f"{s.name}.wav", stream.samples(0, SPEECH_S * 16000))
        rows.append([s.name, ("male", "female")[s.gender], s.age, 5, SPEECH_S])
    with (out / "speakers.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    return out


@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> tuple[Path, Path]:
    """(a UTKFace-style folder: the 4 malformed names of utkface-more and 6 regular photos,
    an LFW-style folder: people with several photos, with one, a test person, a photo without
    a gender label and a row whose file is missing)."""
    more, lfw = shared("utkface-more"), shared("lfw")
    root = tmp_path_factory.mktemp("photos")
    utk = root / "utk-more"
    utk.mkdir()
    for name in list(MALFORMED) + sorted(p.name for p in more.iterdir())[:6]:
        shutil.copy(more / name, utk / name)
    rows = list(csv.DictReader((lfw / "labels.csv").open()))
    by_person = defaultdict(list)
    for r in rows:
        by_person[r["person"]].append(r)
    many = [p for p, rs in sorted(by_person.items()) if 3 <= len(rs) <= 5 and rs[0]["gender"] and not is_test_identity(p)][:3]
    one = [p for p, rs in sorted(by_person.items()) if len(rs) == 1 and rs[0]["gender"] and not is_test_identity(p)][:2]
    test = [p for p, rs in sorted(by_person.items()) if 2 <= len(rs) <= 4 and rs[0]["gender"] and is_test_identity(p)][:1]
    unlabelled = [r for r in rows if not r["gender"]][:1]
    keep = [r for p in many + one + test for r in by_person[p]] + unlabelled
    small = root / "lfw-small"
    for r in keep:
        (small / r["image"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(lfw / r["image"], small / r["image"])
    keep.append({"image": "Nobody_Here/Nobody_Here_0001.jpg", "person": "Nobody_Here", "gender": "male"})
    with (small / "labels.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["image", "person", "gender"])
        w.writeheader()
        w.writerows(keep)
    return utk, small


def samples(out: Path) -> list[dict]:
    """Every sample of a set (all fields, audio as int16 numpy), with its split."""
    meta = open_set(out)
    rows = []
    for split in ("d1", "d2", "test"):
        for t in iter_shard_tensors(out, split, keys=("hr", "audio", "identity", "gender", "age", "video", "clip", "source", "speaker")):
            for i in range(len(t["identity"])):
                rows.append({"split": split, "identity": meta["identities"][int(t["identity"][i])],
                             "video": meta["videos"][int(t["video"][i])], "source": meta["sources"][int(t["source"][i])],
                             "speaker": meta["speakers"][int(t["speaker"][i])], "gender": int(t["gender"][i]),
                             "age": int(t["age"][i]), "clip": int(t["clip"][i]), "hr": t["hr"][i].numpy(),
                             "audio": t["audio"][i].numpy()})
    return rows


@pytest.fixture(scope="module")
def real_set(tmp_path_factory, photos, speech) -> tuple[Path, dict]:
    from vidsr.data.prepare import prepare_photos

    out = tmp_path_factory.mktemp("sets") / "real"
    summary = prepare_photos(list(photos), out, voices_per_person=2, hr_size=32, progress=False, voices="real", speech=speech)
    return out, summary


def test_sources_are_counted_and_bad_rows_skipped(real_set):
    out, summary = real_set
    assert set(summary["sources"]) == {"utk-more", "lfw-small"}
    assert summary["sources"]["utk-more"]["read"] == 10 and summary["sources"]["utk-more"]["skipped"] == 0
    assert summary["skipped"] == {"listed in labels.csv but not found": 1, "no gender label (a voice cannot be matched)": 1}
    assert summary["notes"] == [["utk-more", "irregular UTKFace file name, labels read", 4]]
    assert set(summary["voices"]) == {"real"}
    md = (out / "summary.md").read_text()
    for word in ("per source", "child", "adult", "skipped", "notes", "speakers"):
        assert word in md, word
    rows = samples(out)
    assert {r["video"] for r in rows} >= set(MALFORMED)  # the malformed names train, with their labels
    assert len(rows) == summary["samples"] == 2 * len({r["video"] for r in rows})


def test_each_person_has_one_real_voice_of_their_gender_and_age_group(real_set, speech):
    out, _ = real_set
    speakers = {f"{speech.name}/{s.name}": s for s in read_speakers(speech)}
    voice_of = defaultdict(set)
    for r in samples(out):
        s = speakers[r["speaker"]]
        voice_of[r["identity"]].add(r["speaker"])
        assert s.gender == r["gender"] and s.group == age_group(r["age"]), r["video"]
        assert s.test == (r["split"] == "test") == is_test_speaker(s.name)  # test faces hear only test speakers
        audio = r["audio"].astype(np.float32) / 32768
        assert audio.shape == (64000,) and 0.03 < np.sqrt(np.mean(audio**2)) < 0.2  # speech at about -20 dBFS
    assert all(len(v) == 1 for v in voice_of.values())


def test_lfw_people_split_by_photo(real_set):
    out, summary = real_set
    rows = [r for r in samples(out) if r["source"] == "lfw-small"]
    by_person = defaultdict(lambda: defaultdict(set))  # person -> photo -> splits
    for r in rows:
        by_person[r["identity"]][r["video"]].add(r["split"])
        assert r["age"] == -1
    assert "Nobody_Here" not in by_person
    for person, photos in by_person.items():
        splits = set().union(*photos.values())
        if is_test_identity(person):
            assert splits == {"test"}
        elif len(photos) == 1:  # one photo: its two clips, one in D1 and one in D2
            assert splits == {"d1", "d2"}
        else:  # several: each photo on one side, both sides used
            assert all(len(s) == 1 for s in photos.values()) and splits == {"d1", "d2"}, (person, photos)
    assert summary["identities"]["test"] >= 1


def test_d1_and_d2_hear_different_stretches(speech):
    voices = RealVoices(speech)
    for s in voices.speakers:
        if s.test:
            continue
        d1, d2 = voices.starts(s, "d1"), voices.starts(s, "d2")
        assert d1.size and d2.size and d1.max() + 64000 <= d2.min(), s.name
        wave, start = voices.stretch(s, "d2", np.random.default_rng(0))
        assert start in d2 and wave.shape == (64000,) and np.abs(wave).max() <= 0.99


def test_prepare_is_reproducible(tmp_path, photos, speech, real_set):
    from vidsr.data.prepare import prepare_photos

    again = tmp_path / "again"
    prepare_photos(list(photos), again, voices_per_person=2, hr_size=32, progress=False, voices="real", speech=speech)
    first, second = samples(real_set[0]), samples(again)
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert all(np.array_equal(a[k], b[k]) if isinstance(a[k], np.ndarray) else a[k] == b[k] for k in a)


def test_mixed_voices_and_missing_speech(tmp_path, photos, speech):
    from conftest import espeak
    from vidsr.data.prepare import prepare_photos

    espeak()
    summary = prepare_photos(list(photos), tmp_path / "mixed", voices_per_person=1, hr_size=32, progress=False,
                             voices="mixed", speech=speech)
    assert set(summary["voices"]) == {"real", "made"}
    speakers = {r["speaker"].split("/")[0] for r in samples(tmp_path / "mixed")}
    assert speakers == {"espeak-ng", speech.name}
    with pytest.raises(VidsrError, match="--speech"):
        prepare_photos(list(photos), tmp_path / "x", progress=False, voices="real", speech=tmp_path / "nowhere")


def test_lfw_framing(tmp_path, photos, speech):
    from vidsr.data.lfw import LFW_BOX, crop_lfw, framing_scale, lfw_crop_box
    from vidsr.data.prepare import prepare_photos
    from vidsr.faces.crop import TRAINING_CROP_SCALE, training_crop_box
    from vidsr.imaging import read_rgb

    assert framing_scale("tight") == TRAINING_CROP_SCALE and framing_scale("loose") > TRAINING_CROP_SCALE
    assert framing_scale("1.5") == 1.5
    for bad in ("wide", "9"):
        with pytest.raises(VidsrError, match="framing"):
            framing_scale(bad)
    rgb = read_rgb(next(photos[1].glob("*/*.jpg")))
    box = lfw_crop_box(rgb, framing_scale("tight"))
    assert np.allclose(box, training_crop_box(LFW_BOX)) and 110 < box[2] - box[0] < 114  # 1.2 x 93.3 px
    assert crop_lfw(rgb, 32, 1.7).shape == (32, 32, 3)
    with pytest.raises(VidsrError, match="cropped tight"):  # UTKFace photos cannot be loosened
        prepare_photos(list(photos), tmp_path / "loose", progress=False, speech=speech, framing="loose")
    loose = prepare_photos(photos[1], tmp_path / "loose", voices_per_person=1, hr_size=32, progress=False,
                           speech=speech, framing="loose")
    assert loose["settings"]["crop_scale"] == framing_scale("loose")
