"""A few optimiser steps of :meth:`TrainContext.optimize` on fixed global batches, run by
``test_train.py``: under ``torchrun`` each process takes its share of every batch; alone, one
process takes it whole. Each process writes E_l's weights to ``OUT/rank-R-of-W.safetensors``.

    python -m torch.distributed.run --nproc_per_node 2 tests/ddp_steps.py OUT
    python tests/ddp_steps.py OUT
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

from vidsr.models.encoders import LowResEncoder
from vidsr.models.presets import get_preset
from vidsr.train.context import TrainContext

GLOBAL_BATCH, STEPS = 8, 3


def main(out: Path) -> None:
    torch.set_num_threads(1)
    p = get_preset("tiny")
    ctx = TrainContext.create(p, None, out, device="cpu", seed=0)  # seeds torch with seed + rank
    # each rank starts from other weights, until replicate(); in NHWC order, as the generator
    # stage trains, so broadcast and averaging are checked on non-contiguous parameters too
    net = LowResEncoder(p).to(memory_format=torch.channels_last)
    ctx.replicate(net)
    opt = torch.optim.SGD(net.parameters(), lr=0.5)  # linear in the gradient: compares exactly
    data = torch.Generator().manual_seed(1)
    share = GLOBAL_BATCH // ctx.world_size
    for _ in range(STEPS):
        x = torch.randn(GLOBAL_BATCH, 3, p.lr_size, p.lr_size, generator=data)
        target = torch.randn(GLOBAL_BATCH, *p.latent_shape, generator=data)
        mine = slice(ctx.rank * share, (ctx.rank + 1) * share)
        ctx.optimize(opt, F.l1_loss(net(x[mine]), target[mine]))
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()},
              str(out / f"rank-{ctx.rank}-of-{ctx.world_size}.safetensors"))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
