"""Stage 3a (paper section 3.3, eq. 2): E_l regresses E_h's codes from 8x8 faces, on D1.

    min_{E_l}  sum_{D1} |E_l(x^l) - E_h(x^h)|_1 + lambda |D o G(E_l(x^l)) - x^l|_2^2,  lambda = 40

x^l is x^h bicubic-downsampled to the low-res size; both terms are means over elements.
With the option ``degrade`` (the cpu preset's recipe) E_l is given x^h degraded as a real
tiny face is (vidsr.data.degrade) instead, and the second term still compares with the
clean D o x^h.

An addition to the paper, option ``feat_weight`` (0 = eq. (2) alone): + feat_weight *
l_feat(G(E_l(x^l)), x^h), eq. (1)'s perceptual loss (vidsr.train.perceptual) on the face E_l's
codes make. Eq. (2)'s L1 weighs every code dimension alike, whether it matters to the face or
not; this term asks for the face itself, the identity the evaluation judges.
"""

from __future__ import annotations

import torch

from vidsr.imaging import upsample_nearest
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, LowResInputs, Stage, adam, build, code_and_sr_loss, fixed_samples, trained_with_feat, warm_start


class LowResStage(Stage):
    name = "lowres"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        self.lam = float(o["lambda"])
        (self.G, self.E_h), self.feat = trained_with_feat(ctx, "G", "E_h")
        self.E_l = build("E_l", ctx)
        started = warm_start(ctx, {"E_l": self.E_l})
        ctx.replicate(self.E_l)
        self.opt = adam(self.E_l.parameters(), float(o["lr"]))
        self.trains({"E_l": self.E_l}, {"E_l": self.opt})
        self.fixed = fixed_samples(ctx, "d1", with_audio=False)
        self.data = Batches(ctx, "d1", self.batch_size, with_audio=False)
        self.inputs = LowResInputs(ctx)
        self.recorded_options = {**self.inputs.recorded, **started, **self.feat.recorded}

    def train_step(self, step: int) -> dict[str, float]:
        x_h = self.data.take(step)["hr"]
        x_in, x_l = self.inputs(x_h, step)
        with torch.no_grad():
            z_h = self.E_h(x_h)
        with self.ctx.autocast():
            z_l = self.E_l(x_in)
            x_g = self.G(z_l)
            loss, logged = code_and_sr_loss(z_l, x_g, z_h, x_l, self.lam)
            loss = self.feat.add(loss, logged, x_g, x_h)
            logged["loss"] = loss.item()
        self.ctx.optimize(self.opt, loss)
        return logged

    @torch.no_grad()
    def samples(self):
        """Rows: high-res, 8x8 input (nearest; degraded with ``degrade``), G(E_l(x^l)), G(E_h(x^h))."""
        x_h = self.fixed["hr"]
        x_in, _ = self.inputs(x_h)
        self.E_l.eval()
        rows = [x_h, upsample_nearest(x_in, x_h.shape[-1]), self.G(self.E_l(x_in)), self.G(self.E_h(x_h))]
        self.E_l.train()
        return torch.cat(rows), len(x_h)

    def outputs(self):
        return {"E_l": self.E_l}
