"""`vidsr export`: a trained runs folder collected into one model file."""

from __future__ import annotations

from pathlib import Path

from vidsr.models.facesr import FaceSR
from vidsr.models.io import load_networks, networks_in, read_preset
from vidsr.models.runs import weights_file


def export(runs: str | Path, out: str | Path, fusion: str = "fusion", half: bool = True, extra: dict | None = None) -> Path:
    """Collect a FaceSR model from a training run (G from generator, E_l from lowres, F and
    the fine-tuned E_a from the ``fusion`` variant, :data:`vidsr.models.runs.VARIANTS`)
    into one weights file."""
    fusion_file = weights_file(runs, fusion)
    preset = read_preset(fusion_file)
    model = FaceSR(preset, fusion_layers=3 if "F_3" in networks_in(fusion_file) else 1)
    load_networks(weights_file(runs, "generator"), {"G": model.G})
    load_networks(weights_file(runs, "lowres"), {"E_l": model.E_l})
    load_networks(fusion_file, {"E_a": model.E_a, model.fusion_key: model.F})
    model.save(out, extra, half=half)
    return Path(out)
