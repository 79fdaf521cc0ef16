"""Saving and loading weights with safetensors (never pickle).

A weights file holds several networks, each under its paper name as a key prefix
("G.mapping.net.1.weight", "E_l.fc.0.bias", ...), and the preset it was built with in the
file's metadata, so that a file is self-describing and a mismatch gets a clear error.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from vidsr.errors import WeightsError
from vidsr.files import atomic_path
from vidsr.models.presets import Preset


def atomic_save(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str]) -> None:
    """Write a safetensors file next to `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(tmp), metadata=metadata)


def save_networks(path: Path, networks: dict[str, nn.Module], preset: Preset, extra: dict | None = None,
                  dtype: torch.dtype | None = None) -> None:
    """Save `networks` (name -> module) and the preset into one safetensors file."""
    tensors = {}
    for name, net in networks.items():
        for key, value in net.state_dict().items():
            tensors[f"{name}.{key}"] = value.to(dtype) if dtype is not None and value.is_floating_point() else value
    meta = {"format": "vidsr-weights/1", "preset": json.dumps(preset.to_dict()),
            "networks": json.dumps(sorted(networks)), **{k: json.dumps(v) for k, v in (extra or {}).items()}}
    atomic_save(tensors, path, meta)


def read_metadata(path: Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"not a valid weights file: {path} ({e})") from None
    if meta.get("format") != "vidsr-weights/1":
        raise WeightsError(f"{path} is a safetensors file but not vidsr weights (no vidsr metadata)")
    return {k: json.loads(v) for k, v in meta.items() if k != "format"}


def read_preset(path: Path) -> Preset:
    return Preset.from_dict(read_metadata(path)["preset"])


def read_preset_like(path: Path, preset: Preset) -> Preset:
    """The preset `path` records, checked to give the faces and codes of `preset` (resolution,
    input size, k codes of d). The files of one model may differ in layout (E_h's residual
    blocks, E_a's normalisation) but not in these."""
    own = read_preset(path)
    if (own.resolution, own.lr_size, own.num_ws, own.z_dim) != (preset.resolution, preset.lr_size, preset.num_ws, preset.z_dim):
        raise WeightsError(f"{path} is preset '{own.name}' ({own.lr_size} -> {own.resolution}, {own.num_ws} codes of "
                           f"{own.z_dim}), the others are '{preset.name}' ({preset.lr_size} -> {preset.resolution}, "
                           f"{preset.num_ws} codes of {preset.z_dim}): one model's files must share these sizes")
    return own


def load_networks(path: Path, networks: dict[str, nn.Module], strict: bool = True, grow: bool = False) -> None:
    """Load the named networks from `path` in place; clear WeightsError on any mismatch.
    With `grow`, a network may lack the tensors its class names in ``grown`` (blocks that
    start as the identity, e.g. E_h's residual blocks): they keep their initialisation."""
    read_metadata(path)
    try:
        tensors = load_file(str(path))
    except (SafetensorError, OSError, ValueError) as e:
        raise WeightsError(f"corrupt weights file: {path} ({e})") from None
    for name, net in networks.items():
        prefix = name + "."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        if not state:
            raise WeightsError(f"{path} holds no weights for {name}")
        own = net.state_dict()
        grown = tuple(getattr(net, "grown", ())) if grow else ()  # str.startswith(()) is False
        missing = sorted(k for k in set(own) - set(state) if not k.startswith(grown))
        if strict and missing:
            raise WeightsError(f"{path}: {name} lacks {len(missing)} tensors (e.g. {missing[0]}); wrong preset or stage?")
        for k, v in state.items():
            if k in own and own[k].shape != v.shape:
                raise WeightsError(f"{path}: {name}.{k} has shape {tuple(v.shape)}, the model expects {tuple(own[k].shape)}")
        own.update({k: v.to(own[k].dtype) for k, v in state.items() if k in own})
        net.load_state_dict(own, strict=strict)


def networks_in(path: Path) -> list[str]:
    return read_metadata(path)["networks"]
