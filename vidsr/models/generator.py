"""G: the style-based face generator (paper section 3.1), StyleGAN2-like, in plain PyTorch.

G takes k per-layer codes in Z+ (shape [B, k, d], the paper's "k different z_j"); each code
goes through the mapping network on its own to a w_j that modulates one layer. A single z of
shape [B, d] is broadcast to all k layers (ordinary GAN sampling). Noise inputs are random
during GAN training and off at inference, as in the authors' demo.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from vidsr.models.layers import LRELU_GAIN, Blur, EqualLinear, upsample2x
from vidsr.models.presets import Preset


def channels_at(res: int, base: int, cmax: int) -> int:
    return min(cmax, base // res)


class PixelNorm(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + 1e-8)


class MappingNetwork(nn.Module):
    """z -> w: pixel norm, then an MLP with a 100x lower learning rate (StyleGAN)."""

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, lr_mul: float = 0.01):
        super().__init__()
        layers: list[nn.Module] = [PixelNorm()]
        for i in range(num_layers):
            layers.append(EqualLinear(z_dim if i == 0 else w_dim, w_dim, lr_mul=lr_mul, activate=True))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ModulatedConv2d(nn.Module):
    """3x3 (or 1x1) convolution modulated by a style w, with optional demodulation and 2x upsampling.

    Uses the "non-fused" form: the input is scaled per channel, convolved with the shared
    weight, and the output rescaled per channel, which keeps to ordinary convolutions.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, w_dim: int, demodulate: bool = True, upsample: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        if upsample and not demodulate:
            raise ValueError("an upsampling modulated conv is always demodulated")
        self.demodulate, self.upsample = demodulate, upsample
        self.padding = kernel // 2
        if upsample:
            self.blur = Blur(pad=(1, 1), gain=4.0)

    def forward(self, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None, gain: float = 1.0) -> torch.Tensor:
        """gain * (modulated conv of x, demodulated, + bias). The output's per-channel factor
        and the bias are applied in one pass (inside the convolution when there is no
        demodulation)."""
        style = self.affine(w)  # [B, in_ch]
        weight = self.weight * self.scale
        x = x * style[:, :, None, None]
        if not self.demodulate:  # ToRGB: the bias goes into the convolution
            return F.conv2d(x, weight * gain, None if bias is None else bias * gain, padding=self.padding)
        if self.upsample:
            x = self.blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2))
        else:
            x = F.conv2d(x, weight, padding=self.padding)
        # d_o = 1 / sqrt(sum_{i,k} (s_i w_oik)^2)
        coef = torch.rsqrt(style.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + 1e-8)[:, :, None, None] * gain
        if bias is None:
            return x * coef
        return torch.addcmul((bias * gain)[None, :, None, None], x, coef)


class StyledConv(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, w_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, upsample=upsample)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str) -> torch.Tensor:
        """lrelu(conv(x, w) + noise + bias), with StyleGAN's sqrt(2) gain folded into conv."""
        x = self.conv(x, w, bias=self.bias, gain=LRELU_GAIN)
        if noise_mode == "random":
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
            x = x + noise * (self.noise_strength * LRELU_GAIN)
        return F.leaky_relu(x, 0.2, inplace=True)


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, 3, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor, w: torch.Tensor, skip: torch.Tensor | None) -> torch.Tensor:
        rgb = self.conv(x, w, bias=self.bias)
        return rgb if skip is None else rgb + upsample2x(skip)


class SynthesisNetwork(nn.Module):
    """ws [B, k, w_dim] -> image [B, 3, R, R] in about [-1, 1]. Layer i reads ws[:, i]."""

    def __init__(self, resolution: int, w_dim: int, channel_base: int, channel_max: int):
        super().__init__()
        ch = lambda r: channels_at(r, channel_base, channel_max)  # noqa: E731
        self.log_size = int(math.log2(resolution))
        self.num_ws = 2 * self.log_size - 2
        self.const = nn.Parameter(torch.randn(1, ch(4), 4, 4))
        self.conv1 = StyledConv(ch(4), ch(4), w_dim)
        self.to_rgb1 = ToRGB(ch(4), w_dim)
        self.convs = nn.ModuleList()
        self.to_rgbs = nn.ModuleList()
        for i in range(3, self.log_size + 1):
            r = 2**i
            self.convs.append(StyledConv(ch(r // 2), ch(r), w_dim, upsample=True))
            self.convs.append(StyledConv(ch(r), ch(r), w_dim))
            self.to_rgbs.append(ToRGB(ch(r), w_dim))

    def forward(self, ws: torch.Tensor, noise_mode: str = "none") -> torch.Tensor:
        return self.features(ws, noise_mode)[0]

    def features(self, ws: torch.Tensor, noise_mode: str = "none") -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """(the image, G's feature maps by resolution {4: [B, C, 4, 4], ..., R: [B, C, R, R]}):
        each resolution's activations after its last styled convolution, as the fidelity path
        (:mod:`vidsr.models.fidelity`) reads them."""
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.conv1(x, ws[:, 0], noise_mode)
        feats = {4: x}
        skip = self.to_rgb1(x, ws[:, 1], None)
        i = 1
        for up, conv, to_rgb in zip(self.convs[::2], self.convs[1::2], self.to_rgbs):
            x = up(x, ws[:, i], noise_mode)
            x = conv(x, ws[:, i + 1], noise_mode)
            feats[x.shape[-1]] = x
            skip = to_rgb(x, ws[:, i + 2], skip)
            i += 2
        return skip, feats


class Generator(nn.Module):
    """G (paper section 3.1): per-layer codes z in Z+ -> face image."""

    def __init__(self, preset: Preset):
        super().__init__()
        self.z_dim, self.w_dim = preset.z_dim, preset.w_dim
        self.resolution = preset.resolution
        self.mapping = MappingNetwork(preset.z_dim, preset.w_dim, preset.mapping_layers)
        self.synthesis = SynthesisNetwork(preset.resolution, preset.w_dim, preset.g_channel_base, preset.g_channel_max)
        self.num_ws = self.synthesis.num_ws
        self.register_buffer("w_avg", torch.zeros(preset.w_dim))

    def forward(self, z: torch.Tensor, noise_mode: str = "none", truncation_psi: float = 1.0) -> torch.Tensor:
        """z: [B, k, d] per-layer codes (Z+) or [B, d] (one code for every layer)."""
        if z.dim() == 2:
            z = z[:, None, :].expand(-1, self.num_ws, -1)
        ws = self.mapping(z)
        if truncation_psi != 1.0:
            ws = self.w_avg + truncation_psi * (ws - self.w_avg)
        return self.synthesis(ws, noise_mode)

    def features(self, z: torch.Tensor) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """G(z) with no noise and its feature maps by resolution (:meth:`SynthesisNetwork.features`)."""
        if z.dim() == 2:
            z = z[:, None, :].expand(-1, self.num_ws, -1)
        return self.synthesis.features(self.mapping(z))
