"""The repository holds the product, not the lab's training state: no runs folder and no
checkpoint is ever tracked (runs live outside it: `vidsr.models.runs.default_runs`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINT = re.compile(r"(state|weights)-\d+\.safetensors")


def tracked_files() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout (an sdist or an installed copy): nothing is tracked")
    r = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"git ls-files failed here: {r.stderr.strip()}")
    return [f for f in r.stdout.split("\0") if f]


def is_training_state(path: str) -> bool:
    """A path under a runs folder, a checkpoint of the training loop, or its latest.json."""
    parts = Path(path).parts
    return ("runs" in parts[:-1] or CHECKPOINT.fullmatch(parts[-1]) is not None
            or (parts[-1] == "latest.json" and "checkpoints" in parts))


def test_the_rule_knows_training_state():
    assert is_training_state("weights/runs/cpu/generator/options.json")
    assert is_training_state("runs/cpu/highres/weights.safetensors")
    assert is_training_state("somewhere/checkpoints/state-00197000.safetensors")
    assert is_training_state("weights-00000100.safetensors")
    assert is_training_state("x/checkpoints/latest.json")
    assert not is_training_state("weights/vidsr-cpu.safetensors")
    assert not is_training_state("vidsr/models/runs.py")


def test_no_training_state_is_tracked():
    bad = [f for f in tracked_files() if is_training_state(f)]
    assert not bad, "training state in git (runs live outside the repository; see README, Training):\n" + "\n".join(bad[:20])


def test_gitignore_keeps_checkpoints_out():
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: .gitignore does not apply")
    paths = ["runs/cpu/generator/checkpoints/state-00000010.safetensors", "weights/runs/cpu/highres/weights.safetensors",
             "weights/runs/cpu/generator/checkpoints/latest.json", "elsewhere/weights-00000010.safetensors"]
    r = subprocess.run(["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True)
    assert sorted(r.stdout.split()) == sorted(paths), r.stdout + r.stderr
    r = subprocess.run(["git", "check-ignore", "--no-index", "weights/vidsr-cpu.safetensors"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1, "the released model must not be ignored"


def test_the_package_names_no_model_candidate_session_or_date():
    """vidsr/ speaks of what the tool does today: measured facts, pointing at research/, never a
    candidate's name (vN, vTD1-ridge, ...), a session or a date."""
    names = re.compile(r"\bv[A-Z][A-Z0-9]{0,3}(-[a-z0-9]+)?\b|\b[Ss]ession \d+|\b20\d\d-[01]\d(-[0-3]\d)?\b")
    found = [f"{path.relative_to(ROOT)}:{i}: {m.group(0)}"
             for path in sorted((ROOT / "vidsr").rglob("*")) if path.suffix in (".py", ".json")
             for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) for m in names.finditer(line)]
    assert not found, "\n".join(found)
    assert names.search("the default model vN") and names.search("session 23") and names.search("until 2026-12-05")
