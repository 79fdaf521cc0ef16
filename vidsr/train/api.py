"""Training as a Python API: ``train(stage, ...)`` builds the context and runs one stage or all."""

from __future__ import annotations

import importlib
from pathlib import Path

from vidsr.data.shards import check_shards  # noqa: F401 (cli/evaluate and tests import it from here too)
from vidsr.errors import VidsrError
from vidsr.models.presets import Preset, get_preset
from vidsr.models.runs import FIDELITY_INIT, RECIPE_ORDER
from vidsr.train.context import OPTIONAL_OPTIONS, TrainContext
from vidsr.train.loop import run_stage

STAGE_CLASSES = {
    "generator": "vidsr.train.stages.generator:GeneratorStage",
    "highres": "vidsr.train.stages.highres:HighResStage",
    "lowres": "vidsr.train.stages.lowres:LowResStage",
    "audio": "vidsr.train.stages.audio:AudioStage",
    "fusion": "vidsr.train.stages.fusion:FusionStage",
    "classifiers": "vidsr.train.stages.classifiers:ClassifiersStage",  # evaluation judges (section 4.3)
    "lapsrn": "vidsr.train.stages.lapsrn:LapSRNStage",  # the Table 2 baseline
    "fidelity": "vidsr.train.stages.fidelity:FidelityStage",  # R, the fidelity path (needs the option init)
}


def stage_class(name: str):
    module, cls = STAGE_CLASSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


# Stages that can read a plain folder of face photos; the others need a prepared set.
PHOTO_STAGES = ("generator", "highres")


def check_data(names: tuple[str, ...], data: Path | None) -> None:
    """VidsrError (one line) for training data the stages ``names`` cannot train on: none
    given, missing, a set with a corrupt shard, or a folder without one readable picture."""
    from vidsr.imaging import read_rgb

    what = "a folder of face photos or a prepared set" if set(names) <= set(PHOTO_STAGES) else "a prepared set (vidsr prepare)"
    if data is None:
        raise VidsrError(f"stage '{names[0]}' needs --data: {what}")
    data = Path(data)
    if not data.is_dir():
        raise VidsrError(f"no training data at {data}: expected {what}")
    if (data / "meta.json").exists() or not set(names) <= set(PHOTO_STAGES):
        check_shards(data)
        return
    from vidsr.media.suffixes import IMAGE_SUFFIXES

    pictures = sorted(p for p in data.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not pictures:
        raise VidsrError(f"no face images in {data} (expected {', '.join(IMAGE_SUFFIXES)} files, or a prepared set)")
    if not any(read_rgb(p) is not None for p in pictures):
        raise VidsrError(f"none of the {len(pictures)} image file(s) in {data} is a readable picture")


def check_counts(**counts: int | None) -> None:
    """VidsrError unless every given count (steps, batch, limit, *_every) is at least 1."""
    for name, value in counts.items():
        if value is not None and (not isinstance(value, int) or value < 1):
            raise VidsrError(f"{name} must be a whole number of at least 1, got {value!r}")


def stage_overrides(preset: Preset, names: tuple[str, ...], overrides: dict) -> dict[str, dict]:
    """The overrides each stage of ``names`` takes: those that are options of it (its block in
    presets.json, or :data:`OPTIONAL_OPTIONS`). VidsrError naming the key for one that no stage
    of ``names`` has; and for ``init`` given to several stages (it names one stage's start)."""
    known = {n: set(preset.train[n]) | set(OPTIONAL_OPTIONS) for n in names}
    for key in overrides:
        if not any(key in k for k in known.values()):
            where = (f"stage '{names[0]}' (its options: {', '.join(sorted(known[names[0]]))})" if len(names) == 1
                     else f"any stage of {', '.join(names)}")
            raise VidsrError(f"'{key}' is not a training option of {where} in vidsr/models/presets.json")
    if len(names) > 1 and overrides.get("init"):
        raise VidsrError("init warm-starts one stage: give it with --stage STAGE, not --stage all")
    return {n: {k: v for k, v in overrides.items() if k in known[n]} for n in names}


def train(stage: str, data: Path | None, runs: Path, preset: str = "cpu", steps: int | None = None,
          resume: bool = False, device: str = "auto", precision: str = "fp32", seed: int = 0,
          overrides: dict | None = None, progress=None, **loop_options) -> list[Path]:
    """Train `stage` ('all': the whole model, :data:`vidsr.models.runs.RECIPE_ORDER`, the
    fidelity stage on the model the others made, exported to ``runs/fidelity/init.safetensors``);
    returns the weights files written. ``overrides``: stage options over the preset's (under
    'all', each to the stages that have it). ``progress``: see :func:`vidsr.train.loop.run_stage`
    (none by default)."""
    names = RECIPE_ORDER if stage == "all" else (stage,)
    if any(n not in STAGE_CLASSES for n in names):
        raise VidsrError(f"unknown stage '{stage}' (choose from {', '.join(STAGE_CLASSES)} or all)")
    check_counts(steps=steps, **{k: v for k, v in (overrides or {}).items() if k in ("batch", "limit")},
                 **{k: v for k, v in loop_options.items() if k.endswith("_every")})
    if (overrides or {}).get("layers", 1) not in (1, 3):
        raise VidsrError(f"layers must be 1 (F) or 3 (F_3), got {overrides['layers']}")
    p = get_preset(preset)
    per_stage = stage_overrides(p, names, overrides or {})
    check_data(names, data)
    written = []
    for name in names:
        options = {**p.train[name], **per_stage[name]}
        if stage == "all" and name == "fidelity":
            options["init"] = str(_export_for_fidelity(Path(runs), written))
        ctx = TrainContext.create(p, data, runs, device, precision, seed, options)
        stage_obj = stage_class(name)(ctx)
        written.append(run_stage(stage_obj, ctx, steps if steps is not None else int(options["steps"]), resume=resume,
                                 progress=progress, **loop_options))
    return written


def _export_for_fidelity(runs: Path, written: list[Path]) -> Path:
    """The model (G, E_l, E_a, F; no R) the stages before made, for R to train on; its fusion
    variant is the one just trained (the last weights file written)."""
    from vidsr.train.export import export

    return export(runs, runs / FIDELITY_INIT, fusion=written[-1].parent.name, fidelity=False)
