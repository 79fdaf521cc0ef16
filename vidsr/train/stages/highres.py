"""Stage 2 (paper section 3.2, eq. 1): E_h learns to invert the frozen G.

    min_{E_h}  sum_i  l_feat( G(E_h(x_i^h)), x_i^h )

E_h outputs k per-layer codes (Z+). It trains on the face images of the full training set
(D = D1 + D2, or a photo folder), flipped at random.
"""

from __future__ import annotations

import torch

from vidsr.data.images import load_face_images
from vidsr.train.context import TrainContext
from vidsr.train.perceptual import build_perceptual
from vidsr.train.stages.common import adam, build, flip_average, frozen


class HighResStage:
    name = "highres"

    def __init__(self, ctx: TrainContext):
        self.ctx = ctx
        o = ctx.options
        self.batch_size = int(o["batch"])
        nets = frozen(ctx, "generator", ("G", "D"))
        self.G, D = nets["G"], nets["D"]
        self.loss_feat = build_perceptual(D, o.get("vgg16")).to(ctx.device)
        self.E_h = build("E_h", ctx)
        ctx.replicate(self.E_h)
        self.opt = adam(self.E_h.parameters(), float(o["lr"]))
        self.images = load_face_images(ctx.data, ctx.preset.resolution, limit=o.get("limit"))
        self.batch_gen = torch.Generator().manual_seed(ctx.seed * 1000 + ctx.rank + 1)
        self.fixed = self.images[: 8].float().div(127.5).sub(1).to(ctx.device)
        self.recorded_options = {"perceptual": self.loss_feat.kind, "train_images": len(self.images)}

    def _batch(self) -> torch.Tensor:
        idx = torch.randint(len(self.images), (self.batch_size,), generator=self.batch_gen)
        x = self.images[idx].float().div_(127.5).sub_(1)
        flip = torch.rand(self.batch_size, generator=self.batch_gen) < 0.5
        x[flip] = x[flip].flip(-1)
        return x.to(self.ctx.device)

    def networks(self):
        return {"E_h": self.E_h}

    def optimizers(self):
        return {"E_h": self.opt}

    def extra_state(self):
        return {"batch_gen": self.batch_gen.get_state()}

    def load_extra_state(self, extra):
        if "batch_gen" in extra:
            self.batch_gen.set_state(extra["batch_gen"])

    def train_step(self, step: int) -> dict[str, float]:
        x_h = self._batch()
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
