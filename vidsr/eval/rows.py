"""The rows of Tables 1 and 2 and of the audio-swap test: what each one generates from a
high-res test face x_h, its 8x8 input x_l = D(x_h) and the voice codes z_a.

Every generated face is G(z) with noise off, clamped to [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vidsr.models.lapsrn import bicubic
from vidsr.eval.networks import Networks


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    needs: tuple[str, ...]       # bank keys
    voice: str | None = None     # which E_a's codes it reads (bank key), if any
    fusion: str | None = None    # which fusion network
    swap: bool = False           # voice of another face, of the other gender


ROWS = {r.key: r for r in (
    Row("hr", "High-res test images", ()),
    Row("eh", "(a) E_h only", ("G", "E_h")),
    Row("el", "(b) E_l only", ("G", "E_l")),
    Row("ea", "(c) E_a only", ("G", "E_a_pre"), voice="E_a_pre"),
    Row("f", "(d) F + fine-tuned E_a", ("G", "E_l", "F", "E_a_F"), voice="E_a_F", fusion="F"),
    Row("f3", "(e) F_3 + fine-tuned E_a", ("G", "E_l", "F_3", "E_a_F3"), voice="E_a_F3", fusion="F_3"),
    Row("ffixed", "(f) F + fixed E_a", ("G", "E_l", "F_fixed", "E_a_fixed"), voice="E_a_fixed", fusion="F_fixed"),
    Row("bicubic", "Bicubic", ()),
    Row("lapsrn", "LapSRN (trained by vidsr)", ("LapSRN",)),
    Row("swap_f", "F, voice of the other gender", ("G", "E_l", "F", "E_a_F"), voice="E_a_F", fusion="F", swap=True),
    Row("swap_f3", "F_3, voice of the other gender", ("G", "E_l", "F_3", "E_a_F3"), voice="E_a_F3", fusion="F_3", swap=True),
)}
TABLE1 = ("hr", "eh", "el", "ea", "f", "f3", "ffixed")
TABLE2 = ("bicubic", "lapsrn", "f", "f3")
SWAP = ("swap_f", "swap_f3")
VOICES = ("E_a_pre", "E_a_F", "E_a_F3", "E_a_fixed")  # the E_a variants whose codes are precomputed


def available(bank: Networks) -> dict[str, str | None]:
    """Row key -> None when it can be generated, else why not."""
    return {k: (None if bank.has(*r.needs) else bank.why_missing(*r.needs)) for k, r in ROWS.items()}


@torch.no_grad()
def generate(bank: Networks, row: Row, x_h: torch.Tensor, z_a: torch.Tensor | None = None) -> torch.Tensor:
    """The row's faces for high-res faces x_h [B,3,R,R] and, for voice rows, the voice codes
    z_a [B,k,d] of the row's E_a (for swap rows: the other voices' codes)."""
    from vidsr.imaging import downsample

    x_l = downsample(x_h, bank.preset.lr_size)
    if row.key == "hr":
        return x_h
    if row.key == "bicubic":
        return bicubic(x_l, x_h.shape[-1])
    if row.key == "lapsrn":
        return bank["LapSRN"](x_l)
    if row.key == "eh":
        z = bank["E_h"](x_h)
    elif row.key == "el":
        z = bank["E_l"](x_l)
    elif row.key == "ea":
        z = z_a
    else:
        z = bank[row.fusion](bank["E_l"](x_l), z_a)
    return bank["G"](z, noise_mode="none").clamp(-1, 1)
