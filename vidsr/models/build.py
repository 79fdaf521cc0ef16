"""One builder for the networks of a preset, by the name they have in weights files."""

from __future__ import annotations

from torch import nn

from vidsr.models.discriminator import Discriminator
from vidsr.models.encoders import AudioEncoder, HighResEncoder, LowResEncoder
from vidsr.models.fusion import Fusion
from vidsr.models.generator import Generator
from vidsr.models.presets import Preset

BUILDERS = {
    "G": Generator, "D": Discriminator, "E_h": HighResEncoder, "E_l": LowResEncoder, "E_a": AudioEncoder,
    "F": lambda p: Fusion(p, layers=1), "F_3": lambda p: Fusion(p, layers=3),
}


def build_network(name: str, preset: Preset) -> nn.Module:
    """A new network ``name`` (G, D, E_h, E_l, E_a, F or F_3) sized by ``preset``."""
    return BUILDERS[name](preset)
