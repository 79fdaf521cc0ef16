"""Stage 4 (paper section 3.4, eq. 4): the residual fusion F, with E_a fine-tuned, on D2.

    min_{E_a, F}  sum_{D2} |z^l + F(z^l, E_a(a)) - z|_1 + |D o G(z^l + F(z^l, E_a(a))) - x^l|_2^2

with z^l = E_l(x^l) (frozen) and z = E_h(x^h). Variants for the ablations of Table 1:
``layers`` 1 (F) or 3 (F_3), and ``finetune_audio`` false for "F + fixed E_a". Each variant
trains in its own run folder (fusion, fusion-f3, fusion-fixed) and writes F or F_3 with the
E_a it used. With the option ``degrade`` (the cpu preset's recipe) E_l sees x^h degraded as
a real tiny face is (vidsr.data.degrade), as it was trained; the consistency term still
compares with the clean D o x^h.
"""

from __future__ import annotations

import torch

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.imaging import upsample_nearest
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, LowResInputs, adam, build, code_and_sr_loss, fixed_samples, frozen


def variant_name(layers: int, finetune_audio: bool) -> str:
    return "fusion" + ("-f3" if layers == 3 else "") + ("" if finetune_audio else "-fixed")


class FusionStage:
    def __init__(self, ctx: TrainContext):
        self.ctx = ctx
        o = ctx.options
        self.batch_size = int(o["batch"])
        self.layers = int(o.get("layers", 1))
        self.finetune_audio = bool(o.get("finetune_audio", True))
        self.name = variant_name(self.layers, self.finetune_audio)
        self.fusion_key = "F" if self.layers == 1 else "F_3"
        self.G = frozen(ctx, "generator", ("G",))["G"]
        self.E_h = frozen(ctx, "highres", ("E_h",))["E_h"]
        self.E_l = frozen(ctx, "lowres", ("E_l",))["E_l"]
        self.E_a = frozen(ctx, "audio", ("E_a",))["E_a"]
        self.F = build(self.fusion_key, ctx)
        ctx.replicate(self.F)
        params = list(self.F.parameters())
        if self.finetune_audio:
            self.E_a.train().requires_grad_(True)
            params += list(self.E_a.parameters())
        self.opt = adam(params, float(o["lr"]))
        self.augment = bool(o.get("augment", True))
        self.fixed = fixed_samples(ctx, "d2", with_audio=True)
        self.data = Batches(ctx, "d2", self.batch_size, with_audio=True, augment_audio=self.augment)
        self.inputs = LowResInputs(ctx)
        self.recorded_options = {"fusion": self.fusion_key, "finetune_audio": self.finetune_audio, "augment_audio": self.augment,
                                 **self.inputs.recorded}

    def networks(self):
        return {self.fusion_key: self.F, "E_a": self.E_a}

    def optimizers(self):
        return {"fusion": self.opt}

    def train_step(self, step: int) -> dict[str, float]:
        batch = self.data.take(step)
        x_h = batch["hr"]
        x_in, x_l = self.inputs(x_h, step)
        with torch.no_grad():
            z, z_l = self.E_h(x_h), self.E_l(x_in)
        with self.ctx.autocast():
            z_f = self.F(z_l, self.E_a(log_spectrogram(batch["audio"])))
            loss, logged = code_and_sr_loss(self.G, z_f, z, x_l, lam=1.0)  # eq. (4) weighs both terms alike
        self.ctx.optimize(self.opt, loss)
        return logged

    @torch.no_grad()
    def samples(self):
        """Rows: high-res, 8x8 input (nearest; degraded with ``degrade``), G(E_l) (no voice), G(z_f) (fused)."""
        x_h = self.fixed["hr"]
        x_in, _ = self.inputs(x_h)
        was = self.E_a.training
        self.E_a.eval()
        z_l = self.E_l(x_in)
        z_f = self.F(z_l, self.E_a(log_spectrogram(self.fixed["audio"])))
        self.E_a.train(was)
        return torch.cat([x_h, upsample_nearest(x_in, x_h.shape[-1]), self.G(z_l), self.G(z_f)]), len(x_h)

    def outputs(self):
        return {self.fusion_key: self.F, "E_a": self.E_a}
