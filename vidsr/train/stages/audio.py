"""Stage 3b (paper section 3.3, eq. 3): E_a regresses the pose-free, flip-averaged codes, on D1.

    min_{E_a}  sum_{D1} |E_a(a) - z-bar|_1,   z-bar = (E_h(x^h) + E_h(flip x^h)) / 2

The voices are augmented on the fly (reverb, EQ, band limits, noise, quantisation, gain;
vidsr.audio.augment): made voices teach E_a to hear real voices only when augmented
(../shared/research/voices.md: 0.76 vs 0.99 gender accuracy on real speech).

Addition to the paper (option ``gender_weight``, lambda_g; 0 turns it off): a linear head on
E_a's hidden layer learns the speaker's gender label with cross-entropy, weighted by
lambda_g, next to eq. (3). Eq. (3) alone rewards hearing the gender only by the small
difference between the two genders' median codes (2 % of the L1 on the cpu preset), and
the cpu-sized E_a, trained for minutes rather than days, did not find it. The head
is training-only: it is saved in the checkpoints, never in the model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, Stage, adam, build, fixed_samples, flip_average, trained, warm_start


class AudioStage(Stage):
    name = "audio"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        self.augment = bool(o["augment"])
        self.G, self.E_h = trained(ctx, "G", "E_h")
        self.E_a = build("E_a", ctx)
        started = warm_start(ctx, {"E_a": self.E_a})
        self.gender_weight = float(o["gender_weight"])
        self.gender_head = nn.Linear(ctx.preset.ea_hidden, 1).to(ctx.device)
        ctx.replicate(self.E_a, self.gender_head)
        self.opt = adam(list(self.E_a.parameters()) + list(self.gender_head.parameters()), float(o["lr"]))
        self.trains({"E_a": self.E_a, "gender_head": self.gender_head}, {"E_a": self.opt})
        self.fixed = fixed_samples(ctx, "d1", with_audio=True)
        self.data = Batches(ctx, "d1", self.batch_size, with_audio=True, augment_audio=self.augment)
        self.recorded_options = {"augment_audio": self.augment, "gender_weight": self.gender_weight, **started}

    def train_step(self, step: int) -> dict[str, float]:
        batch = self.data.take(step)
        with torch.no_grad():
            target = flip_average(self.E_h, batch["hr"])
        known = batch["gender"] >= 0
        with self.ctx.autocast():
            h = self.E_a.features(log_spectrogram(batch["audio"]))
            l1 = F.l1_loss(self.E_a.fc[2](h).float().view_as(target), target)
            logit = self.gender_head(h).float().squeeze(1)
            ce = F.binary_cross_entropy_with_logits(logit[known], batch["gender"][known].float()) if known.any() \
                else logit.sum() * 0.0
        self.ctx.optimize(self.opt, l1 + self.gender_weight * ce)
        accuracy = ((logit[known] > 0).long() == batch["gender"][known]).float().mean().item() if known.any() else 0.0
        return {"l1_code": l1.item(), "gender_ce": ce.item(), "gender_acc": accuracy}

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
