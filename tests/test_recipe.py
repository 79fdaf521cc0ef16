"""A model says how it was made: the rebuild (`vidsr train --stage all --export MODEL`) run on the
tiny preset, the recipe it writes into the model file, `vidsr doctor` reading it back, and the
generic stage options of `vidsr train` (--set, --init)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vidsr.errors import VidsrError
from vidsr.models.facesr import FaceSR
from vidsr.models.io import read_metadata
from vidsr.models.runs import RECIPE_ORDER
from vidsr.train.recipe import NOT_RECORDED, code_commit, portable, recipe_rows

ROOT = Path(__file__).resolve().parents[1]


def vidsr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "vidsr", *map(str, args)], capture_output=True, text=True, timeout=600)


def doctor_rows(out: str) -> dict[str, str]:
    return {line.split("│")[1].strip(): line.split("│")[2].strip() for line in out.splitlines() if line.count("│") == 3}


@pytest.fixture(scope="module")
def rebuilt(tiny_set, tmp_path_factory) -> tuple[Path, Path]:
    """(runs, model): the documented rebuild, run as a user runs it, on the tiny preset (2 steps a stage)."""
    root = tmp_path_factory.mktemp("rebuild")
    runs, model = root / "runs", root / "rebuilt.safetensors"
    r = vidsr("train", "--stage", "all", "--preset", "tiny", "--data", tiny_set, "--runs", runs, "--device", "cpu",
              "--steps", "2", "--set", "gender_balance=true", "--set", "face_px=[8,16]", "--threads", "1",
              "--sample-every", "1000", "--checkpoint-every", "1000", "--export", model)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"wrote {model}" in r.stdout
    return runs, model


def test_the_rebuild_trains_every_stage_in_order_and_its_model_carries_the_recipe(rebuilt, tiny_set):
    runs, model = rebuilt
    loaded = FaceSR.load(model)
    assert loaded.R is not None and loaded.preset.name == "tiny"  # G, E_l, E_a, F and R
    recipe = read_metadata(model)["recipe"]
    assert recipe["format"] == "vidsr-recipe/1" and recipe["commit"] == code_commit()
    assert list(recipe["stages"]) == list(RECIPE_ORDER)  # generator ... fusion, then R on their export
    assert recipe["preset"]["name"] == "tiny" and "train" not in recipe["preset"]
    for name, stage in recipe["stages"].items():
        assert stage["steps"] == 2 and stage["seed"] == 0 and stage["world_size"] == 1, name
        assert stage["data"] == tiny_set.name and stage["vidsr"] == recipe["vidsr"], name
        assert "preset" not in stage  # the same as the recipe's, said once
    # --set reached the stages that have the option, and only those; the recipe says what changed
    assert recipe["stages"]["fusion"]["options"]["gender_balance"] is True
    assert recipe["stages"]["fusion"]["changed"] == {"gender_balance": True}
    assert recipe["stages"]["fidelity"]["options"]["face_px"] == [8, 16]
    assert "gender_balance" not in recipe["stages"]["lowres"]["options"]
    # R trained on the model the stages before made (exported into the fidelity run), named portably
    assert recipe["stages"]["fidelity"]["init"] == "init.safetensors"
    assert (runs / "fidelity" / "init.safetensors").is_file()
    # no machine path anywhere in the recipe; the set's summary with its counts and sources
    assert str(tiny_set.parent) not in json.dumps(recipe) and str(runs) not in json.dumps(recipe)
    data = recipe["data"][tiny_set.name]
    assert data["samples"] == 64 and set(data["splits"]) == {"d1", "d2", "test"} and data["sources"]
    assert read_metadata(model)["runs"] == "runs"  # the runs folder by name, not its path


def test_doctor_shows_the_recipe_in_brief_and_whole(rebuilt, tmp_path):
    _, model = rebuilt
    r = vidsr("doctor", "--weights", model)
    assert r.returncode == 0, r.stderr
    rows = doctor_rows(r.stdout)
    assert rows["recipe"].startswith("vidsr ") and code_commit()[:12] in rows["recipe"]
    assert rows["fusion"].startswith("2 steps; batch 4; lr 0.001; seed 0") and "gender_balance True" in rows["fusion"]
    assert rows[f"data {Path(read_metadata(model)['recipe']['stages']['fusion']['data'])}"].startswith("64 samples")
    r = vidsr("doctor", "--weights", model, "--recipe")
    assert r.returncode == 0 and json.loads(r.stdout) == read_metadata(model)["recipe"]
    # a model made before recipes were saved: said so, in brief and whole
    old = tmp_path / "old.safetensors"
    FaceSR.load(model).save(old, {"runs": "runs"}, half=True)
    assert "recipe" not in read_metadata(old)  # read_metadata reads it as before
    assert doctor_rows(vidsr("doctor", "--weights", old).stdout)["recipe"] == NOT_RECORDED
    r = vidsr("doctor", "--weights", old, "--recipe")
    assert r.returncode == 0 and r.stdout.strip() == f"recipe: {NOT_RECORDED}"
    r = vidsr("doctor", "--weights", tmp_path / "missing.safetensors", "--recipe")
    assert r.returncode == 2 and r.stderr.startswith("vidsr: error:") and r.stderr.count("\n") == 1


def test_export_on_a_base_takes_its_stages_from_the_base_recipe(rebuilt, tmp_path):
    from vidsr.train.export import export

    runs, model = rebuilt
    recipe = read_metadata(export(runs, tmp_path / "on-base.safetensors", base=model))["recipe"]
    own = read_metadata(model)["recipe"]
    assert recipe["base"] == model.name and recipe["stages"]["fusion"] == own["stages"]["fusion"]
    assert recipe["stages"]["fidelity"]["init"] == "init.safetensors" and recipe["data"] == own["data"]
    old = tmp_path / "old.safetensors"
    FaceSR.load(model).save(old, half=True)
    recipe = read_metadata(export(runs, tmp_path / "on-old.safetensors", base=old))["recipe"]
    assert list(recipe["stages"]) == ["generator", "lowres", "fusion", "fidelity"]
    assert recipe["stages"]["generator"] == {"from": "old.safetensors", "recipe": "not recorded"}
    assert recipe["stages"]["fidelity"]["steps"] == 2


def test_stage_options_from_the_command_line(rebuilt, tiny_set, tmp_path):
    from vidsr.train.api import train

    # --init: a warm start the CLI gives any stage, recorded in its options.json
    runs, _ = rebuilt
    warm = tmp_path / "warm"
    for stage in ("generator", "highres"):
        (warm / stage).mkdir(parents=True)
        (warm / stage / "weights.safetensors").write_bytes((runs / stage / "weights.safetensors").read_bytes())
    init = runs / "lowres" / "weights.safetensors"
    r = vidsr("train", "--stage", "lowres", "--preset", "tiny", "--data", tiny_set, "--runs", warm, "--steps", "1",
              "--init", init, "--set", "lr=0", "--device", "cpu", "--sample-every", "1000")
    assert r.returncode == 0, r.stderr[-2000:]
    options = json.loads((warm / "lowres" / "options.json").read_text())
    assert options["init"] == str(init) and options["options"]["lr"] == 0

    # an option no stage has: one line, nothing started
    with pytest.raises(VidsrError, match="'pixel_wieght' is not a training option of stage 'fusion'"):
        train("fusion", tiny_set, tmp_path / "runs", preset="tiny", overrides={"pixel_wieght": 1.0})
    with pytest.raises(VidsrError, match="init warm-starts one stage"):
        train("all", tiny_set, tmp_path / "runs", preset="tiny", overrides={"init": "x.safetensors"})
    assert not (tmp_path / "runs").exists()
    r = vidsr("train", "--stage", "lowres", "--preset", "tiny", "--data", tiny_set, "--runs", tmp_path / "runs",
              "--set", "lamda=4")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "'lamda' is not a training option" in r.stderr
    r = vidsr("train", "--stage", "lowres", "--preset", "tiny", "--data", tiny_set, "--set", "lambda")
    assert r.returncode == 2 and "Invalid value for '--set': expected KEY=VALUE" in r.stderr
    # --set values as JSON where they parse, --init a path: both in the stage's options.json
    from vidsr.cli.options import key_values

    assert key_values(["a=1", "b=true", "c=[8, 20]", "d=some/file.safetensors", "e=x=y"]) == {
        "a": 1, "b": True, "c": [8, 20], "d": "some/file.safetensors", "e": "x=y"}


def test_portable_keeps_file_names_of_absolute_paths():
    assert portable({"data": "/work/data/all", "init": "/r/lowres/weights.safetensors", "keep": "data/all",
                     "n": [1, "/a/b.safetensors"], "x": None}) == {
        "data": "all", "init": "lowres/weights.safetensors", "keep": "data/all", "n": [1, "b.safetensors"], "x": None}
    assert recipe_rows(None) == [("recipe", NOT_RECORDED)]


def test_the_commit_is_unknown_outside_a_checkout(tmp_path):
    assert code_commit(tmp_path) == "unknown"
    if (ROOT / ".git").exists():
        assert len(code_commit(ROOT).split("-")[0]) == 40
