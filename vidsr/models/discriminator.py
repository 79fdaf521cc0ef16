"""D: the residual discriminator used to train G (StyleGAN2 layout, plain PyTorch).

Its intermediate activations also serve as the fallback feature space of the perceptual
loss when no VGG16 weights are available (see ``vidsr.train.perceptual``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vidsr.models.generator import channels_at
from vidsr.models.layers import EqualConv2d, EqualLinear, downsample2x
from vidsr.models.presets import Preset

SQRT1_2 = 1.0 / math.sqrt(2.0)


class ResBlock(nn.Module):
    """(lrelu(conv2(down(lrelu(conv1(x))))) + skip(down(x))) / sqrt(2); the 1/sqrt(2) is
    folded into conv2 and skip."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv1 = EqualConv2d(in_ch, in_ch, 3, padding=1, activate=True)
        self.conv2 = EqualConv2d(in_ch, out_ch, 3, padding=1, activate=True, gain=SQRT1_2)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False, gain=SQRT1_2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(downsample2x(self.conv1(x)))
        return y + self.skip(downsample2x(x))


class Discriminator(nn.Module):
    def __init__(self, preset: Preset, mbstd_group: int = 4):
        super().__init__()
        ch = lambda r: channels_at(r, preset.d_channel_base, preset.d_channel_max)  # noqa: E731
        res = preset.resolution
        self.from_rgb = EqualConv2d(3, ch(res), 1, activate=True)
        blocks = []
        while res > 4:
            blocks.append(ResBlock(ch(res), ch(res // 2)))
            res //= 2
        self.blocks = nn.ModuleList(blocks)
        self.mbstd_group = mbstd_group
        self.final_conv = EqualConv2d(ch(4) + 1, ch(4), 3, padding=1, activate=True)
        self.final_fc = EqualLinear(ch(4) * 16, ch(4), activate=True)
        self.out = EqualLinear(ch(4), 1)

    def _mbstd(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.mbstd_group, b)
        while b % g:
            g -= 1
        y = x.reshape(g, -1, c, h, w)
        y = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8).mean(dim=(1, 2, 3))  # [b/g]
        y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
        return torch.cat([x, y], dim=1)

    def features(self, img: torch.Tensor) -> list[torch.Tensor]:
        """Activations after the RGB input layer and after each residual block."""
        x = self.from_rgb(img)
        feats = [x]
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        return feats

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        x = self.features(img)[-1]
        x = self.final_conv(self._mbstd(x))
        return self.out(self.final_fc(x.flatten(1)))
