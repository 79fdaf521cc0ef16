"""The LapSRN baseline of Table 2 (Lai et al. 2017), trained by vidsr on the same faces
(d1 + d2, flipped at random) at the model's own factor (lr_size -> resolution), with the
Charbonnier loss at every pyramid level:

    min  sum_levels  charbonnier(LapSRN(x^l)_s, D_s(x^h)),   s = 2l, 4l, ..., R

The network is vidsr.models.lapsrn.LapSRN; its width and depth come from the preset's
``train.lapsrn`` block.
"""

from __future__ import annotations

import torch

from vidsr.models.lapsrn import LapSRN, bicubic, charbonnier
from vidsr.imaging import downsample, upsample_nearest
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, Stage, adam, downsample_input, fixed_samples

TRAIN_SPLITS = ["d1", "d2"]


class LapSRNStage(Stage):
    name = "lapsrn"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        self.net = LapSRN(ctx.preset, width=int(o["width"]), depth=int(o["depth"])).to(ctx.device)
        ctx.replicate(self.net)
        self.opt = adam(self.net.parameters(), float(o["lr"]))
        self.trains({"LapSRN": self.net}, {"LapSRN": self.opt})
        self.gen = torch.Generator().manual_seed(ctx.seed * 1000 + ctx.rank + 11)
        self.fixed = fixed_samples(ctx, "test", with_audio=False)["hr"]
        self.data = Batches(ctx, TRAIN_SPLITS, self.batch_size, with_audio=False)
        self.recorded_options = {"width": self.net.width, "depth": self.net.depth, "levels": self.net.levels}

    def train_step(self, step: int) -> dict[str, float]:
        x_h = self.data.take(step)["hr"]
        flip = (torch.rand(len(x_h), generator=self.gen) < 0.5).to(x_h.device)
        x_h = torch.where(flip[:, None, None, None], x_h.flip(-1), x_h)
        x_l = downsample_input(self.ctx, x_h)
        with self.ctx.autocast():
            levels = self.net.pyramid(x_l)
            losses = [charbonnier(y.float(), downsample(x_h, y.shape[-1])) for y in levels]
            loss = sum(losses)
        self.ctx.optimize(self.opt, loss)
        return {"loss": loss.item(), "charb_top": losses[-1].item()}

    @torch.no_grad()
    def samples(self):
        """Rows (test faces): high-res, 8x8 input (nearest), bicubic, LapSRN."""
        x_h = self.fixed
        x_l = downsample_input(self.ctx, x_h)
        size = x_h.shape[-1]
        self.net.eval()
        rows = [x_h, upsample_nearest(x_l, size), bicubic(x_l, size), self.net(x_l)]
        self.net.train()
        return torch.cat(rows), len(x_h)

    def outputs(self):
        return {"LapSRN": self.net}
