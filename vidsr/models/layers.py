"""Building blocks shared by the networks: equalized-learning-rate layers and resampling.

Plain PyTorch, no custom CUDA ops (after rosinality/stylegan2-pytorch). Weights are stored
with unit variance and scaled at run time by 1/sqrt(fan_in) (Karras et al., "equalized
learning rate").
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_GAIN = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (slope 0.2) scaled to keep unit variance, as in StyleGAN."""
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


def _out_gain(activate: bool, gain: float) -> float:
    """The factor folded into a layer's weight and bias: `gain`, times StyleGAN's sqrt(2) when
    a leaky ReLU follows. Leaky ReLU is positively homogeneous (lrelu(c x) = c lrelu(x) for
    c > 0), so scaling the small weight tensor replaces two passes over the activations."""
    return gain * (LRELU_GAIN if activate else 1.0)


class EqualLinear(nn.Module):
    """Linear layer with equalized learning rate; `activate` adds the scaled leaky ReLU and
    `gain` multiplies the output (both folded into the weights)."""

    def __init__(self, in_dim: int, out_dim: int, bias_init: float = 0.0, lr_mul: float = 1.0, activate: bool = False,
                 gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init)))
        self.activate = activate
        gain = _out_gain(activate, gain)
        self.scale = lr_mul / math.sqrt(in_dim) * gain
        self.bias_mul = lr_mul * gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.bias_mul)
        return F.leaky_relu(x, 0.2) if self.activate else x


class EqualConv2d(nn.Module):
    """Convolution with equalized learning rate; `activate` and `gain` as in :class:`EqualLinear`."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, padding: int = 0, bias: bool = True,
                 activate: bool = False, gain: float = 1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.activate = activate
        self.gain = _out_gain(activate, gain)
        self.scale = self.gain / math.sqrt(in_ch * kernel * kernel)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.gain
        x = F.conv2d(x, self.weight * self.scale, bias, stride=self.stride, padding=self.padding)
        return F.leaky_relu(x, 0.2) if self.activate else x


def _blur_kernel(device=None, dtype=None) -> torch.Tensor:
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], device=device, dtype=dtype)
    k = k[:, None] * k[None, :]
    return k / k.sum()


class Blur(nn.Module):
    """Depthwise [1,3,3,1] low-pass filter with explicit padding (anti-aliasing for resampling)."""

    def __init__(self, pad: tuple[int, int], gain: float = 1.0):
        super().__init__()
        self.register_buffer("kernel", _blur_kernel() * gain, persistent=False)
        self.pad = pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.shape[1]
        w = self.kernel.to(x.dtype).expand(c, 1, 4, 4)
        if self.pad[0] == self.pad[1]:  # padding inside the convolution saves a copy of x
            return F.conv2d(x, w, padding=self.pad[0], groups=c)
        x = F.pad(x, (self.pad[0], self.pad[1], self.pad[0], self.pad[1]))
        return F.conv2d(x, w, groups=c)


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """Bilinear 2x upsampling (the cheap path, used for the RGB skip connections)."""
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """2x2 box average. As a depthwise stride-2 convolution: the same numbers as
    ``F.avg_pool2d(x, 2)``, but about twice as fast forward and backward on the CPU."""
    c = x.shape[1]
    return F.conv2d(x, x.new_full((c, 1, 2, 2), 0.25), stride=2, groups=c)
