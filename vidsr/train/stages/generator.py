"""Stage 1 (paper section 3.1): train G and its discriminator D from scratch.

StyleGAN2's recipe, kept small: non-saturating logistic loss, lazy R1 regularisation on
real images every ``r1_every`` steps, style mixing between two z, an exponential moving
average G_ema of G's weights (the G that every later stage uses), horizontal flips, and
adaptive discriminator augmentation (:mod:`vidsr.train.ada`; option ``ada_target``, null: off,
r_t still logged).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from vidsr.models.discriminator import Discriminator
from vidsr.models.generator import Generator
from vidsr.train.ada import AdaptiveAugment
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import MEMORY_FORMAT, ImageBatches, Stage

R1_EVERY = 16
N_SAMPLES = 32


class GeneratorStage(Stage):
    name = "generator"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        p = ctx.preset
        self.mixing = float(o["mixing"])
        self.r1_gamma = float(o["r1_gamma"])
        self.ema_beta = 0.5 ** (self.batch_size * ctx.world_size / (float(o["ema_kimg"]) * 1000))
        self.data = ImageBatches(ctx, self.batch_size)
        self.ada = AdaptiveAugment(self.batch_size, target=o["ada_target"], speed_kimg=float(o["ada_kimg"]))
        dev = ctx.device
        self.G = Generator(p).to(dev, memory_format=MEMORY_FORMAT)
        self.D = Discriminator(p).to(dev, memory_format=MEMORY_FORMAT)
        ctx.replicate(self.G, self.D)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        lr = float(o["lr"])
        c = R1_EVERY / (R1_EVERY + 1)  # lazy regularisation: adjust D's optimiser (StyleGAN2, appendix B)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=(0.0, 0.99))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr * c, betas=(0.0, 0.99**c))
        self.trains({"G": self.G, "G_ema": self.G_ema, "D": self.D}, {"G": self.opt_g, "D": self.opt_d})
        self.sample_z = torch.randn(N_SAMPLES, p.z_dim, generator=torch.Generator().manual_seed(1234)).to(dev)
        self.recorded_options = {"train_images": len(self.data.images)}

    # -- helpers -----------------------------------------------------------------
    def _latents(self) -> torch.Tensor:
        """Per-layer z for a batch, with style mixing: two z switched at a random layer."""
        p, b, dev = self.ctx.preset, self.batch_size, self.ctx.device
        z1 = torch.randn(b, 1, p.z_dim, device=dev)
        z = z1.expand(-1, p.num_ws, -1).clone()
        if torch.rand(()) < self.mixing:
            cut = int(torch.randint(1, p.num_ws, ()))
            z[:, cut:] = torch.randn(b, 1, p.z_dim, device=dev)
        return z

    # -- the stage interface ------------------------------------------------------
    def extra_state(self):
        return {**self.data.state(), **self.ada.state()}

    def load_extra_state(self, extra):
        self.data.load_state(extra)
        self.ada.load_state(extra)

    def train_step(self, step: int) -> dict[str, float]:
        ctx = self.ctx
        # D: real vs fake, non-saturating logistic loss.
        real = next(self.data)
        with torch.no_grad(), ctx.autocast():
            fake = self.G(self._latents(), noise_mode="random")
        with ctx.autocast():
            d_real = self.D(self.ada(real))
            d_loss = F.softplus(self.D(self.ada(fake.float()))).mean() + F.softplus(-d_real).mean()
        self.ctx.optimize(self.opt_d, d_loss)
        self.ada.observe(d_real)
        losses = {"loss_D": d_loss.item(), "rt": self.ada.rt, "ada_p": self.ada.p}

        if step % R1_EVERY == 0:  # lazy R1 on (augmented) real images
            real_r1 = self.ada(real).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.D(real_r1).sum(), real_r1, create_graph=True)
            r1 = grad.pow(2).sum(dim=(1, 2, 3)).mean()
            self.ctx.optimize(self.opt_d, self.r1_gamma / 2 * r1 * R1_EVERY)
            losses["r1"] = r1.item()

        # G: fool D (D's weights frozen for this step).
        self.D.requires_grad_(False)
        with ctx.autocast():
            fake = self.G(self._latents(), noise_mode="random")
            g_loss = F.softplus(-self.D(self.ada(fake.float()))).mean()
        self.ctx.optimize(self.opt_g, g_loss)
        self.D.requires_grad_(True)
        losses["loss_G"] = g_loss.item()

        with torch.no_grad():
            for pe, p in zip(self.G_ema.parameters(), self.G.parameters()):
                pe.lerp_(p, 1 - self.ema_beta)
        return losses

    @torch.no_grad()
    def _update_w_avg(self) -> None:
        z = torch.randn(4096, self.ctx.preset.z_dim, generator=torch.Generator().manual_seed(0)).to(self.ctx.device)
        self.G_ema.w_avg.copy_(self.G_ema.mapping(z).mean(0))

    @torch.no_grad()
    def samples(self):
        return self.G_ema(self.sample_z, noise_mode="none"), 8

    def outputs(self):
        self._update_w_avg()
        return {"G": self.G_ema, "D": self.D}
