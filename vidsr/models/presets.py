"""Presets: network sizes and training options, read from ``presets.json`` (data, not code)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from vidsr.errors import VidsrError

PRESETS_FILE = Path(__file__).with_name("presets.json")


@dataclass(frozen=True)
class Preset:
    """All sizes of one model configuration. ``num_ws`` is the paper's k, ``z_dim`` its d;
    ``lr_size`` is l, the side of the low-res input x_l (8), ``resolution`` R, G's output."""

    name: str
    resolution: int
    lr_size: int
    z_dim: int
    w_dim: int
    mapping_layers: int
    g_channel_base: int
    g_channel_max: int
    d_channel_base: int
    d_channel_max: int
    eh_width: int
    eh_width_max: int
    el_widths: tuple[int, ...]
    el_hidden: int
    ea_width: int
    ea_width_max: int
    ea_hidden: int
    fusion_hidden: int
    ea_norm: str = "none"  # "batch": BatchNorm after E_a's inner convolutions (not in the paper's demo)
    eh_blocks: int = 0  # residual blocks E_h adds at each scale (0: the paper's demo layout)
    fidelity_width: int = 64  # R (vidsr/models/fidelity.py): channels at its encoder's scales
    fidelity_blocks: int = 4  # R: residual blocks of its encoder
    train: dict = field(default_factory=dict, compare=False)

    @property
    def num_ws(self) -> int:
        """k: the number of per-layer codes the generator takes (2 log2(resolution) - 2)."""
        return 2 * int(math.log2(self.resolution)) - 2

    @property
    def latent_shape(self) -> tuple[int, int]:
        return (self.num_ws, self.z_dim)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["el_widths"] = list(self.el_widths)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preset":
        """A preset from :meth:`to_dict`'s form; the files written before the input size was
        called ``lr_size`` (model files, checkpoints, run folders' options.json) call it
        ``lowres``, and read the same."""
        d = dict(d)
        if "lowres" in d and "lr_size" not in d:
            d["lr_size"] = d.pop("lowres")
        d["el_widths"] = tuple(d["el_widths"])
        return cls(**d)


@lru_cache(maxsize=None)
def _all() -> dict:
    return json.loads(PRESETS_FILE.read_text())


def preset_names() -> list[str]:
    return [k for k in _all() if not k.startswith("_")]


def get_preset(name: str) -> Preset:
    """The preset called `name` ('paper', 'cpu', 'tiny')."""
    table = _all()
    if name not in table or name.startswith("_"):
        raise VidsrError(f"unknown preset '{name}' (choose from {', '.join(preset_names())})")
    return Preset.from_dict({"name": name, **table[name]})
