"""What every training stage needs to know about where and how it runs:
device, precision, the distributed process group, the preset and the run folders."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from vidsr.devices import check_device_name
from vidsr.errors import VidsrError
from vidsr.models.presets import Preset

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(name: str = "auto") -> torch.device:
    """The torch device for ``--device`` (auto: a GPU if there is one); VidsrError for a
    name that is no device, or a GPU this machine does not have."""
    name = check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VidsrError(f"device '{name}' asked for, but no CUDA GPU is available")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise VidsrError(f"device '{name}' asked for, but this machine has {torch.cuda.device_count()} GPU(s)")
    return torch.device(name)


@dataclass
class TrainContext:
    preset: Preset
    data: Path | None
    runs: Path                      # root folder: one subfolder per stage
    device: torch.device
    precision: str = "fp32"
    seed: int = 0
    options: dict = field(default_factory=dict)   # the stage's training options (preset's, then overrides)
    rank: int = 0
    world_size: int = 1
    checkpoint_every: int = 0       # set by the loop: data streams restart at each checkpoint step

    @classmethod
    def create(cls, preset: Preset, data, runs, device="auto", precision="fp32", seed=0, options=None) -> "TrainContext":
        if precision not in PRECISIONS:
            raise VidsrError(f"unknown precision '{precision}' (choose fp32, bf16 or fp16)")
        rank, world = 0, 1
        dev = pick_device(device)
        if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
            backend = "nccl" if dev.type == "cuda" else "gloo"
            if not dist.is_initialized():
                dist.init_process_group(backend)
            rank, world = dist.get_rank(), dist.get_world_size()
            if dev.type == "cuda":
                dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
                torch.cuda.set_device(dev)
        torch.manual_seed(seed + rank)
        return cls(preset, Path(data) if data else None, Path(runs), dev, precision, seed, dict(options or {}), rank, world)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def stage_dir(self, stage: str) -> Path:
        return self.runs / stage

    def autocast(self):
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    def replicate(self, *modules: nn.Module) -> None:
        """Give every process rank 0's initial weights (a no-op in a single process)."""
        if self.world_size > 1:
            for m in modules:
                for t in list(m.parameters()) + list(m.buffers()):
                    dist.broadcast(t.data, src=0)

    def optimize(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """One optimiser step on `loss`; with several processes the gradients are averaged
        across them first (data parallelism, as DistributedDataParallel does, but explicit,
        which suits GAN steps that touch several networks)."""
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.world_size > 1:
            grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
            if grads:
                flat = torch.cat([g.flatten() for g in grads])
                dist.all_reduce(flat)
                flat /= self.world_size
                offset = 0
                for g in grads:
                    g.copy_(flat[offset:offset + g.numel()].view_as(g))
                    offset += g.numel()
        opt.step()
