"""What every training stage needs to know about where and how it runs:
device, precision, the distributed process group, the preset and the run folders."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn

from vidsr.devices import PRECISIONS, autocast, pick_device, precision_dtype
from vidsr.errors import VidsrError
from vidsr.models.presets import Preset

OPTIONAL_OPTIONS = ("limit", "vgg16", "init", "lr_rampdown")  # stage options presets.json need not give


class StageOptions(dict):
    """A stage's training options: its preset's ``train`` block in ``presets.json``, then the
    overrides. There are no defaults in the code: reading an option the preset does not
    give fails with one line naming the file (``.get`` is for the optional ones: limit,
    vgg16, init, lr_rampdown)."""

    def __missing__(self, key: str):
        raise VidsrError(f"training option '{key}' is missing from the preset's train block (vidsr/models/presets.json)")


@dataclass
class TrainContext:
    preset: Preset
    data: Path | None
    runs: Path                      # root folder: one subfolder per stage
    device: torch.device
    precision: str = "fp32"
    seed: int = 0
    options: StageOptions = field(default_factory=StageOptions)   # the stage's training options (preset's, then overrides)
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
        return cls(preset, Path(data) if data else None, Path(runs), dev, precision, seed, StageOptions(options or {}), rank, world)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def stage_dir(self, stage: str) -> Path:
        return self.runs / stage

    def autocast(self):
        return autocast(self.device, precision_dtype(self.precision))

    def replicate(self, *modules: nn.Module) -> None:
        """Give every process rank 0's initial weights (a no-op in a single process)."""
        if self.world_size > 1:
            for m in modules:
                for t in list(m.parameters()) + list(m.buffers()):
                    data = t.data
                    dist.broadcast(data, src=0)
                    _released_by_gloo(data)

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
                _released_by_gloo(flat)
                flat /= self.world_size
                offset = 0
                for g in grads:
                    g.copy_(flat[offset:offset + g.numel()].view_as(g))
                    offset += g.numel()
        opt.step()


def _released_by_gloo(t: torch.Tensor, timeout: float = 5.0) -> None:
    """Wait until the collective's worker thread has dropped its reference to ``t``.

    Gloo runs collectives on its own threads, which let go of the finished work (and so of
    ``t``) a little after ``wait()`` returns; letting go of a tensor Python also holds takes the
    GIL. When that falls after the interpreter began to shut down (the last step of a run,
    then exit), the thread cannot take the GIL and the process aborts ("terminate called
    without an active exception", SIGABRT; pytorch/pytorch#190489). Sleeping hands the GIL
    over until only Python holds ``t``."""
    deadline = time.monotonic() + timeout
    while t._use_count() > 1 and time.monotonic() < deadline:
        time.sleep(1e-4)
