"""R, the fidelity path: the face's own pixels give the structure, G's features the detail.

An inversion into G's latents alone cannot hold the person's structure at this G's size: the
paper's G(z_f) draws a plausible face of the right gender, not always the person's. R keeps the
paper's path for what the latent carries (z_f = E_l(x_l) + F(E_l(x_l), E_a(a)): the voice still
enters through F, in G's codes) and lets the picture steer the result at every scale, as the
faithful restorers with a generative prior do (GLEAN's frozen "latent bank" with a decoder that
fuses encoder and generator features scale by scale; GFPGAN's spatial features; CodeFormer's
fidelity weight):

    u   = up(x_own)                                the face's own pixels, bicubic to R px
    f_e = E_s(u)                                   spatial features at R/4 (and R/8)
    g_r = G's feature maps for z_f at r = R/8..R   (G frozen, no noise)
    d_r = decoder(d_{r/2} up, f_e at r, g_r)       scale by scale
    x   = u + to_rgb(d_R)                          a residual on the zoom

``to_rgb`` starts at zero, so an untrained R returns the zoom (bicubic from the own pixels),
the honest baseline, and training only adds what pays. With ``prior`` off G's features are not
read: R is then a plain regression network of the same size, the floor the prior must beat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.imaging import upsample_bicubic
from vidsr.models.generator import channels_at
from vidsr.models.presets import Preset


def conv3(in_ch: int, out_ch: int, stride: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1)


class ResBlock(nn.Module):
    """x + conv(lrelu(conv(x))), the second convolution starting small."""

    def __init__(self, ch: int):
        super().__init__()
        self.conv1, self.conv2 = conv3(ch, ch), conv3(ch, ch)
        nn.init.zeros_(self.conv2.bias)
        self.conv2.weight.data.mul_(0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.leaky_relu(self.conv1(x), 0.2))


class Fuse(nn.Module):
    """One decoder scale: the concatenated inputs to ``out_ch`` channels, then residual blocks."""

    def __init__(self, in_ch: int, out_ch: int, blocks: int):
        super().__init__()
        self.inp = conv3(in_ch, out_ch)
        self.blocks = nn.Sequential(*(ResBlock(out_ch) for _ in range(blocks)))

    def forward(self, *parts: torch.Tensor) -> torch.Tensor:
        return self.blocks(F.leaky_relu(self.inp(torch.cat(parts, 1)), 0.2))


class FidelityNet(nn.Module):
    """R: the own pixels x_own (any size up to R) and G's features for z_f -> the face [B, 3, R, R].

    Sizes from the preset: ``fidelity_width`` channels at the encoder's scales (half of them at
    2x and 4x the encoder's), ``fidelity_blocks`` residual blocks in the encoder; ``prior``:
    whether G's features are read (False: the plain regression network of the same size)."""

    def __init__(self, preset: Preset, prior: bool = True):
        super().__init__()
        r = preset.resolution
        self.resolution = r
        self.prior = bool(prior)
        self.fold = max(1, r // 16)  # the encoder works at R / fold (16 px for the cpu preset)
        enc_res = r // self.fold
        # decoder scales: R/8 where G has it (>= 4 px), then R/4 ... R
        self.levels = [s for s in (enc_res // 2,) if s >= 4] + [enc_res << i for i in range(self.fold.bit_length())]
        w = int(preset.fidelity_width)
        width = {s: (w if s <= enc_res else max(8, w // 2)) for s in self.levels}
        g_ch = {s: channels_at(s, preset.g_channel_base, preset.g_channel_max) if self.prior else 0 for s in self.levels}
        self.prior_channels = {s: c for s, c in g_ch.items() if c}  # G's feature channels R reads, by resolution
        self.enc_res = enc_res
        self.enc_in = conv3(3 * self.fold * self.fold, w)
        self.enc = nn.Sequential(*(ResBlock(w) for _ in range(int(preset.fidelity_blocks))))
        self.down = conv3(w, w, stride=2) if self.levels[0] < enc_res else None
        self.fuse = nn.ModuleDict()
        prev = 0
        for s in self.levels:
            skip = w if s in (enc_res, enc_res // 2) else 0  # the encoder's features where they exist
            self.fuse[str(s)] = Fuse(prev + skip + g_ch[s], width[s], blocks=2 if s <= enc_res else 1)
            prev = width[s]
        self.to_rgb = nn.Conv2d(prev, 3, 3, padding=1)
        nn.init.zeros_(self.to_rgb.weight)
        nn.init.zeros_(self.to_rgb.bias)

    def zoom(self, x_own: torch.Tensor) -> torch.Tensor:
        """u = up(x_own): the own pixels bicubic to R px (the baseline R's output adds to)."""
        return upsample_bicubic(x_own, self.resolution)

    def forward(self, u: torch.Tensor, g_feats: dict[int, torch.Tensor] | None,
                weight: float | torch.Tensor = 1.0) -> torch.Tensor:
        """u [B, 3, R, R] (:meth:`zoom`), G's features for z_f (None when ``prior`` is off) -> [B, 3, R, R].
        ``weight`` (a number or [B]): how much of G's features R reads, 1 all, 0 none (R then
        restores from the picture alone; ``g_feats`` may then be None): the fidelity-realism
        trade, CodeFormer's w, trained over its whole range."""
        if torch.is_tensor(weight):
            weight = weight.to(u.dtype).view(-1, 1, 1, 1)
        elif self.prior and weight == 0 and g_feats is None:
            g_feats = {s: u.new_zeros(len(u), c, s, s) for s, c in self.prior_channels.items()}
        e = self.enc(F.leaky_relu(self.enc_in(F.pixel_unshuffle(u, self.fold)), 0.2))
        skips = {self.enc_res: e}
        if self.down is not None:
            skips[self.enc_res // 2] = F.leaky_relu(self.down(e), 0.2)
        d = None
        for s in self.levels:
            parts = [] if d is None else [F.interpolate(d, scale_factor=2, mode="bilinear", align_corners=False)]
            if s in skips:
                parts.append(skips[s])
            if self.prior:
                parts.append(g_feats[s].to(u.dtype) * weight)
            d = self.fuse[str(s)](*parts)
        return u + self.to_rgb(d)

