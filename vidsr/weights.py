"""The default model that ships in ``weights/`` and is used when no ``--weights`` is given."""

from __future__ import annotations

import os
from pathlib import Path

from vidsr.errors import WeightsError

WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_NAME = "vidsr-cpu.safetensors"


def default_weights_path() -> Path:
    """$VIDSR_WEIGHTS, else weights/vidsr-cpu.safetensors beside the package."""
    return Path(os.environ.get("VIDSR_WEIGHTS", WEIGHTS_DIR / DEFAULT_NAME))


def resolve_weights(path: str | Path | None) -> Path:
    p = Path(path) if path else default_weights_path()
    if not p.is_file():
        raise WeightsError(f"weights not found: {p}" + ("" if path else " (the default model; see weights/README.md)"))
    return p


def default_weights_status() -> str:
    p = default_weights_path()
    if not p.is_file():
        return f"[red]missing[/] ({p})"
    from vidsr.models.io import read_metadata

    try:
        meta = read_metadata(p)
    except WeightsError as e:
        return f"[red]{e}[/]"
    return f"ok ({p}, preset {meta['preset']['name']}, {p.stat().st_size / 1e6:.1f} MB)"
