"""Stage 2 (paper section 3.2, eq. 1): E_h learns to invert the frozen G.

    min_{E_h}  sum_i  l_feat( G(E_h(x_i^h)), x_i^h )

E_h outputs k per-layer codes (Z+). It trains on the face images of the full training set
(D = D1 + D2, or a photo folder), flipped at random. Option ``init``: a weights file whose E_h
starts this one (a warm start, e.g. E_h of an older G when G has trained on).
"""

from __future__ import annotations

import torch

from vidsr.train.context import TrainContext
from vidsr.train.perceptual import build_perceptual
from vidsr.train.stages.common import MEMORY_FORMAT, ImageBatches, Stage, adam, build, flip_average, trained, warm_start


class HighResStage(Stage):
    name = "highres"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        self.G, D = trained(ctx, "G", "D")
        self.G.to(memory_format=MEMORY_FORMAT)
        self.loss_feat = build_perceptual(D.to(memory_format=MEMORY_FORMAT), o.get("vgg16")).to(ctx.device)
        self.E_h = build("E_h", ctx).to(memory_format=MEMORY_FORMAT)
        started = warm_start(ctx, {"E_h": self.E_h})
        ctx.replicate(self.E_h)
        self.opt = adam(self.E_h.parameters(), float(o["lr"]))
        self.trains({"E_h": self.E_h}, {"E_h": self.opt})
        self.data = ImageBatches(ctx, self.batch_size, seed_offset=1)
        self.fixed = self.data.first(8)
        self.recorded_options = {"perceptual": self.loss_feat.kind, "train_images": len(self.data.images), **started}

    def extra_state(self):
        return self.data.state()

    def load_extra_state(self, extra):
        self.data.load_state(extra)

    def train_step(self, step: int) -> dict[str, float]:
        x_h = next(self.data)
        with self.ctx.autocast():
            loss = self.loss_feat(self.G(self.E_h(x_h)).float(), x_h)
        self.ctx.optimize(self.opt, loss)
        return {"loss_feat": loss.item()}

    @torch.no_grad()
    def samples(self):
        """Rows: inputs, G(E_h(x)), G of the flip-averaged code (frontal-looking)."""
        self.E_h.eval()
        rows = torch.cat([self.fixed, self.G(self.E_h(self.fixed)), self.G(flip_average(self.E_h, self.fixed))])
        self.E_h.train()
        return rows, len(self.fixed)

    def outputs(self):
        return {"E_h": self.E_h}
