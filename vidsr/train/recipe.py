"""A model's recipe: how it was made, one record saved whole into the model file's metadata
(``recipe``) by ``vidsr export``, as stylegan2-ada keeps its training options.

The record (:func:`model_recipe`)::

    {"format": "vidsr-recipe/1", "vidsr": VERSION, "commit": GIT HEAD (the code that exported it),
     "preset": the network sizes (the preset without its train blocks),
     "stages": {run folder: what the stage resolved (its options.json, :func:`stage_record`)},
     "data": {set name: the prepared set's summary (:func:`data_record`)},
     "base": the model file G, E_l, E_a and F came from (export --base), else absent}

``stages`` holds every stage whose networks the model holds (generator, lowres, the fusion
variant, fidelity for R) and the stages those were trained on (highres, audio, classifiers),
where the runs folder has them, in the order ``vidsr train --stage all`` runs them. Absolute paths become their file names (they mean nothing on
another machine). A file written before recipes were saved has none: :func:`recipe_rows` says so.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from vidsr import __version__
from vidsr.models.runs import RECIPE_ORDER, VARIANT_NAMES, WEIGHTS

FORMAT = "vidsr-recipe/1"
NOT_RECORDED = "not recorded (model made before recipes were saved)"
# Besides the stages whose networks a model holds, the stages they were trained on.
TRAINED_ON = ("highres", "audio", "classifiers")
# What a set's summary keeps in a recipe (counts, sources, settings; not the per-reason skip lists).
SUMMARY_KEYS = ("samples", "splits", "identities", "speakers", "sources", "voices", "skipped", "settings")


def code_commit(where: Path | None = None) -> str:
    """The git commit of the code (``-dirty`` when tracked files differ from it), or "unknown"
    where the code is no git checkout or git cannot say; never fails."""
    where = where or Path(__file__).resolve().parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10)
        if head.returncode != 0 or not head.stdout.strip():
            return "unknown"
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=where, capture_output=True, timeout=10)
        return head.stdout.strip() + ("-dirty" if dirty.returncode == 1 else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_version() -> dict[str, str]:
    """The vidsr version and the code's commit, as every options.json and recipe records them."""
    return {"vidsr": __version__, "commit": code_commit()}


def portable(value):
    """``value`` with every absolute path (a string) replaced by its file name (a run's
    ``weights.safetensors`` keeps its run folder: ``lowres/weights.safetensors``), recursively."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, str) and value.startswith(("/", "~")) and len(value) > 1:
        p = Path(value)
        return f"{p.parent.name}/{p.name}" if p.name == WEIGHTS else p.name
    return value


def _options_files(run_dir: Path) -> list[Path]:
    """A run's options files in the order written: options.json, then one per resume."""
    first = run_dir / "options.json"
    return ([first] if first.exists() else []) + sorted(run_dir.glob("options-resume-*.json"))


def stage_record(run_dir: Path) -> dict | None:
    """What the stage in ``run_dir`` resolved, from its last options file (a resumed run's
    last resume: the steps it ended at), made :func:`portable`: its preset's sizes (the preset
    without the train blocks of every stage), ``options`` (after the overrides), ``changed``
    (those that differ from the preset's), steps, seed, data, world size and what the stage
    recorded; ``resumed``: how many times it was resumed. None where there is no such run."""
    files = _options_files(Path(run_dir))
    if not files:
        return None
    record = json.loads(files[-1].read_text(encoding="utf-8"))
    preset = dict(record.get("preset") or {})
    train = preset.pop("train", {})
    block = train.get("fusion" if record.get("stage") in VARIANT_NAMES else record.get("stage"), {})
    options = record.get("options") or {}
    changed = {k: v for k, v in options.items() if k not in block or block[k] != v}
    return portable({**record, "preset": preset, "changed": changed, "resumed": len(files) - 1})


def data_record(path: str | Path) -> dict:
    """A data folder as a recipe keeps it: a prepared set's summary (:data:`SUMMARY_KEYS` of its
    meta.json), or what the folder is when it holds no set."""
    meta = Path(path) / "meta.json"
    if meta.is_file():
        try:
            summary = json.loads(meta.read_text(encoding="utf-8")).get("summary", {})
        except (OSError, ValueError):
            return {"summary": "unreadable meta.json"}
        return portable({k: summary[k] for k in SUMMARY_KEYS if k in summary})
    if Path(path).is_dir():
        return {"kind": "a folder of face photos (no prepared set)"}
    return {"summary": "not found where the stage read it"}


def model_recipe(runs: str | Path, fusion: str, fidelity: bool, base: str | Path | None = None,
                 base_recipe: dict | None = None) -> dict:
    """The recipe of a model exported from ``runs`` (the ``fusion`` variant; R from the
    fidelity run when ``fidelity``); with ``base``, G, E_l, E_a and F came from that model file,
    whose own recipe (``base_recipe``, None: it has none) gives their stages."""
    runs = Path(runs)
    stages: dict[str, dict] = {}
    data: dict[str, dict] = {}
    from_runs = ["fidelity"] if fidelity else []
    if base is not None:
        name = Path(base).name
        if base_recipe and base_recipe.get("stages"):
            stages.update({k: v for k, v in base_recipe["stages"].items() if k != "fidelity"})
            data.update(base_recipe.get("data", {}))
        else:
            stages.update({s: {"from": name, "recipe": "not recorded"} for s in ("generator", "lowres", fusion)})
    else:
        from_runs[:0] = [fusion if s == "fusion" else s for s in RECIPE_ORDER if s != "fidelity"]
    for stage in from_runs:
        record = stage_record(runs / stage)
        if record is None and stage in TRAINED_ON:
            continue  # a stage the model's networks were trained on, its run not kept
        stages[stage] = record or {"recipe": "not recorded"}
        raw = _options_files(runs / stage)
        where = json.loads(raw[-1].read_text(encoding="utf-8")).get("data") if raw else None
        if where:
            data.setdefault(portable(where), data_record(where))
    preset = (base_recipe or {}).get("preset") or next((r["preset"] for r in stages.values() if "preset" in r), None)
    for r in stages.values():
        if r.get("preset") == preset:
            del r["preset"]  # said once, above the stages; a stage keeps its own where it differs
    out = {"format": FORMAT, **code_version(), "preset": preset, "stages": stages, "data": data}
    if base is not None:
        out["base"] = Path(base).name
    return out


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _short_commit(commit: str) -> str:
    return commit[:12] + ("-dirty" if commit.endswith("-dirty") else "")


def recipe_rows(recipe: dict | None) -> list[tuple[str, str]]:
    """A compact summary of a recipe as (label, text) rows, for `vidsr doctor`: the code, then per
    stage its steps, batch, lr, seed, data and the options changed from the preset; then per
    data set its sources and counts. A model without a recipe: one row saying so."""
    if not recipe:
        return [("recipe", NOT_RECORDED)]
    commit = str(recipe.get("commit", "unknown"))
    head = f"vidsr {recipe.get('vidsr', '?')}, commit {_short_commit(commit)}"
    rows = [("recipe", head + (f", G E_l E_a F from {recipe['base']}" if recipe.get("base") else ""))]
    for stage, r in recipe.get("stages", {}).items():
        if "options" not in r:
            rows.append((f"  {stage}", f"from {r.get('from', '?')}: recipe {r.get('recipe', 'not recorded')}"))
            continue
        o = r["options"]
        parts = [f"{r.get('steps', '?')} steps", f"batch {o.get('batch', '?')}", f"lr {_short(o.get('lr', '?'))}",
                 f"seed {r.get('seed', '?')}", f"data {r.get('data')}"]
        if r.get("world_size", 1) != 1:
            parts.append(f"{r['world_size']} processes")
        if r.get("resumed"):
            parts.append(f"resumed {r['resumed']}x")
        changed = {k: v for k, v in r.get("changed", {}).items() if k not in ("steps", "batch", "lr")}
        if changed:
            parts.append("changed: " + ", ".join(f"{k} {_short(v)}" for k, v in changed.items()))
        if r.get("commit") and r["commit"] != commit:
            parts.append(f"commit {_short_commit(r['commit'])}")
        rows.append((f"  {stage}", "; ".join(parts)))
    for name, d in recipe.get("data", {}).items():
        if "samples" not in d:
            rows.append((f"  data {name}", next(iter(d.values()), "?")))
            continue
        splits = ", ".join(f"{s} {v.get('samples', 0)}" for s, v in d.get("splits", {}).items())
        sources = ", ".join(f"{s} ({sum(v.get(k, 0) for k in d.get('splits', {}))})" for s, v in d.get("sources", {}).items())
        voices = ", ".join(d.get("voices", {}))
        rows.append((f"  data {name}", f"{d['samples']} samples ({splits}); sources {sources or '?'}"
                     + (f"; voices {voices}" if voices else "")))
    return rows
