"""`vidsr export`: a trained runs folder collected into one model file."""

from __future__ import annotations

import json
from pathlib import Path

from vidsr.errors import VidsrError
from vidsr.models.facesr import FaceSR
from vidsr.models.io import load_networks, networks_in, read_metadata, read_preset
from vidsr.models.presets import Preset
from vidsr.models.runs import weights_file
from vidsr.train.recipe import model_recipe

FIDELITY_RUN = "fidelity"  # the run folder of the fidelity stage (R)


def export(runs: str | Path, out: str | Path, fusion: str = "fusion", half: bool = True, extra: dict | None = None,
           base: str | Path | None = None, fidelity: bool = True) -> Path:
    """Collect a FaceSR model into one weights file: G from generator, E_l from lowres, F and
    the fine-tuned E_a from the ``fusion`` variant (:data:`vidsr.models.runs.VARIANTS`), or all
    four from the model file ``base``; and R from the fidelity run, where ``runs`` holds one
    (it must have been trained on that same G, E_l, E_a and F: its option ``init``), unless
    ``fidelity`` is False. The metadata holds ``extra`` and the model's ``recipe``
    (:func:`vidsr.train.recipe.model_recipe`: every stage's options, the data set's summary, the commit)."""
    fidelity_file = weights_file(runs, FIDELITY_RUN)
    prior = _fidelity_prior(fidelity_file) if fidelity and fidelity_file.exists() else None
    base_meta = read_metadata(base) if base is not None else {}  # one read: its preset, networks and recipe
    if base is not None:
        preset = Preset.from_dict(base_meta["preset"])
        model = FaceSR(preset, fusion_layers=3 if "F_3" in base_meta["networks"] else 1, fidelity=prior)
        load_networks(Path(base), {k: v for k, v in model.networks().items() if k != "R"})
    else:
        fusion_file = weights_file(runs, fusion)
        preset = read_preset(fusion_file)
        model = FaceSR(preset, fusion_layers=3 if "F_3" in networks_in(fusion_file) else 1, fidelity=prior)
        load_networks(weights_file(runs, "generator"), {"G": model.G})
        load_networks(weights_file(runs, "lowres"), {"E_l": model.E_l})
        load_networks(fusion_file, {"E_a": model.E_a, model.fusion_key: model.F})
    if model.R is not None:
        load_networks(fidelity_file, {"R": model.R})
    recipe = model_recipe(runs, fusion, fidelity=model.R is not None, base=base,
                          base_recipe=base_meta.get("recipe"))
    model.save(out, {**(extra or {}), "recipe": recipe}, half=half)
    return Path(out)


def _fidelity_prior(weights: Path) -> bool:
    """Whether the fidelity run beside ``weights`` trained R on G's features (its options.json)."""
    options = weights.parent / "options.json"
    if not options.exists():
        raise VidsrError(f"{weights.parent} has no options.json: not a fidelity run")
    return bool(json.loads(options.read_text(encoding="utf-8"))["options"]["prior"])
