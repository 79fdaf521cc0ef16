"""Stage 3b (paper section 3.3, eq. 3): E_a regresses the pose-free, flip-averaged codes, on D1.

    min_{E_a}  sum_{D1} |E_a(a) - z-bar|_1,   z-bar = (E_h(x^h) + E_h(flip x^h)) / 2

The voices are augmented on the fly (reverb, EQ, band limits, noise, quantisation, gain;
vidsr.audio.augment): made voices teach E_a to hear real voices only when augmented
(../shared/research/voices.md: 0.76 vs 0.99 gender accuracy on real speech).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, adam, build, fixed_samples, flip_average, frozen


class AudioStage:
    name = "audio"

    def __init__(self, ctx: TrainContext):
        self.ctx = ctx
        o = ctx.options
        self.batch_size = int(o["batch"])
        self.augment = bool(o.get("augment", True))
        self.G = frozen(ctx, "generator", ("G",))["G"]
        self.E_h = frozen(ctx, "highres", ("E_h",))["E_h"]
        self.E_a = build("E_a", ctx)
        ctx.replicate(self.E_a)
        self.opt = adam(self.E_a.parameters(), float(o["lr"]))
        self.fixed = fixed_samples(ctx, "d1", with_audio=True)
        self.data = Batches(ctx, "d1", self.batch_size, with_audio=True, augment_audio=self.augment)
        self.recorded_options = {"augment_audio": self.augment}

    def networks(self):
        return {"E_a": self.E_a}

    def optimizers(self):
        return {"E_a": self.opt}

    def train_step(self, step: int) -> dict[str, float]:
        batch = self.data.take(step)
        with torch.no_grad():
            target = flip_average(self.E_h, batch["hr"])
        with self.ctx.autocast():
            loss = F.l1_loss(self.E_a(log_spectrogram(batch["audio"])).float(), target)
        self.ctx.optimize(self.opt, loss)
        return {"l1_code": loss.item()}

    @torch.no_grad()
    def samples(self):
        """Rows: high-res, G(z-bar) (the target), G(E_a(a)) (from the voice alone)."""
        x_h = self.fixed["hr"]
        self.E_a.eval()
        rows = [x_h, self.G(flip_average(self.E_h, x_h)), self.G(self.E_a(log_spectrogram(self.fixed["audio"])))]
        self.E_a.train()
        return torch.cat(rows), len(x_h)

    def outputs(self):
        return {"E_a": self.E_a}
