"""Resumable training state, kept apart from the weights (as in BasicSR).

A checkpoint is two safetensors files written atomically and then recorded in
``latest.json`` (written last, so a kill at any moment leaves the previous checkpoint
intact):
- ``weights-STEP.safetensors``: the networks (``params``, and ``G_ema`` where there is one);
- ``state-STEP.safetensors``: optimiser moments, random-number state and the step.
Nothing is pickled: optimiser states are flattened into tensors plus JSON metadata.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch import nn

from vidsr.errors import WeightsError
from vidsr.files import write_text
from vidsr.models.io import atomic_save, load_networks, save_networks
from vidsr.models.presets import Preset

KEEP = 2


def _flatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    sd = opt.state_dict()
    scalars = {}
    for idx, state in sd["state"].items():
        for key, value in state.items():
            if torch.is_tensor(value):
                tensors[f"{prefix}/{idx}/{key}"] = value
            else:
                scalars[f"{idx}/{key}"] = value
    meta[prefix] = json.dumps({"param_groups": sd["param_groups"], "scalars": scalars})


def _unflatten_optimizer(prefix: str, opt: torch.optim.Optimizer, tensors: dict, meta: dict) -> None:
    info = json.loads(meta[prefix])
    state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(prefix + "/"):
            _, idx, name = key.split("/", 2)
            state.setdefault(int(idx), {})[name] = value
    for key, value in info["scalars"].items():
        idx, name = key.split("/", 1)
        state.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": info["param_groups"]})


class Checkpointer:
    def __init__(self, folder: Path, preset: Preset):
        self.folder = Path(folder)
        self.preset = preset

    @property
    def latest_file(self) -> Path:
        return self.folder / "latest.json"

    def latest_step(self) -> int | None:
        if not self.latest_file.exists():
            return None
        try:
            return int(json.loads(self.latest_file.read_text())["step"])
        except (ValueError, KeyError, json.JSONDecodeError):
            raise WeightsError(f"corrupt checkpoint index {self.latest_file}") from None

    def save(self, step: int, networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer],
             extra_state: dict[str, torch.Tensor] | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        save_networks(self.folder / f"weights-{step:08d}.safetensors", networks, self.preset, {"step": step})
        tensors = {"rng/torch": torch.get_rng_state(), **(extra_state or {})}
        meta = {"format": "vidsr-state/1", "step": str(step), "optimizers": json.dumps(sorted(optimizers))}
        for name, opt in optimizers.items():
            _flatten_optimizer(f"opt.{name}", opt, tensors, meta)
        atomic_save(tensors, self.folder / f"state-{step:08d}.safetensors", meta)
        write_text(self.latest_file, json.dumps({"step": step}))
        self._prune(step)

    def _prune(self, step: int) -> None:
        steps = sorted(int(p.stem.split("-")[1]) for p in self.folder.glob("state-*.safetensors"))
        for old in steps[:-KEEP]:
            if old != step:
                (self.folder / f"state-{old:08d}.safetensors").unlink(missing_ok=True)
                (self.folder / f"weights-{old:08d}.safetensors").unlink(missing_ok=True)

    def load(self, networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> tuple[int, dict]:
        """Restore the latest checkpoint in place; returns (step, extra state tensors)."""
        step = self.latest_step()
        if step is None:
            raise WeightsError(f"no checkpoint to resume from in {self.folder}")
        load_networks(self.folder / f"weights-{step:08d}.safetensors", networks)
        path = self.folder / f"state-{step:08d}.safetensors"
        try:
            from safetensors import safe_open

            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as e:
            raise WeightsError(f"corrupt training state {path} ({e})") from None
        if int(meta.get("step", -1)) != step:
            raise WeightsError(f"training state {path} does not match {self.latest_file}")
        for name, opt in optimizers.items():
            try:
                _unflatten_optimizer(f"opt.{name}", opt, tensors, meta)
            except (KeyError, ValueError, RuntimeError) as e:
                raise WeightsError(f"training state {path} does not fit optimiser {name} ({e})") from None
        torch.set_rng_state(tensors["rng/torch"])
        extra = {k: v for k, v in tensors.items() if not k.startswith(("opt.", "rng/torch"))}
        return step, extra
