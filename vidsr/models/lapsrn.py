"""The conventional super-resolution baselines of Table 2: bicubic upsampling and LapSRN
(Lai et al., CVPR 2017), trained by vidsr at the model's own factor (8 -> R).

LapSRN reconstructs a Laplacian pyramid in 2x steps (8 -> 16 -> 32 -> 64 for the cpu
preset, 8 -> ... -> 128 for the paper's). At each level a feature branch (``depth`` 3x3
convolutions with leaky ReLU, then a 4x4 transposed convolution) predicts a residual
image that is added to the previous level's image, upsampled by a transposed convolution
that starts as bilinear interpolation. Training (``vidsr train --stage lapsrn``) applies
the Charbonnier loss at every level against the high-res face downsampled to that size.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from vidsr.imaging import upsample_bicubic
from vidsr.models.presets import Preset


def bicubic(x_l: torch.Tensor, size: int) -> torch.Tensor:
    """The bicubic baseline: the low-res input upsampled to size x size, clamped to [-1, 1]."""
    return upsample_bicubic(x_l, size).clamp(-1, 1)


def _bilinear_up(channels: int) -> nn.ConvTranspose2d:
    """A 4x4 stride-2 transposed convolution initialised to 2x bilinear upsampling."""
    up = nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1, bias=False)
    f = torch.tensor([0.25, 0.75, 0.75, 0.25])
    kernel = f[:, None] * f[None, :]
    with torch.no_grad():
        up.weight.zero_()
        for c in range(channels):
            up.weight[c, c] = kernel
    return up


class LapSRN(nn.Module):
    def __init__(self, preset: Preset, width: int = 32, depth: int = 3):
        super().__init__()
        levels = math.log2(preset.resolution / preset.lr_size)
        if levels != int(levels) or levels < 1:
            raise ValueError(f"LapSRN needs a power-of-two factor, got {preset.lr_size} -> {preset.resolution}")
        self.levels, self.resolution = int(levels), preset.resolution
        self.width, self.depth = width, depth
        self.head = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.LeakyReLU(0.2))
        self.features = nn.ModuleList()
        self.to_residual = nn.ModuleList()
        self.upsample_image = nn.ModuleList()
        for _ in range(self.levels):
            convs: list[nn.Module] = []
            for _ in range(depth):
                convs += [nn.Conv2d(width, width, 3, padding=1), nn.LeakyReLU(0.2)]
            convs += [nn.ConvTranspose2d(width, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            self.features.append(nn.Sequential(*convs))
            self.to_residual.append(nn.Conv2d(width, 3, 3, padding=1))
            self.upsample_image.append(_bilinear_up(3))

    def pyramid(self, x_l: torch.Tensor) -> list[torch.Tensor]:
        """x_l [B, 3, l, l] in [-1, 1] -> the images of every level, 2l, 4l, ..., R."""
        feat, img, out = self.head(x_l), x_l, []
        for features, to_residual, up in zip(self.features, self.to_residual, self.upsample_image):
            feat = features(feat)
            img = up(img) + to_residual(feat)
            out.append(img)
        return out

    def forward(self, x_l: torch.Tensor) -> torch.Tensor:
        return self.pyramid(x_l)[-1].clamp(-1, 1)


def charbonnier(x: torch.Tensor, y: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """LapSRN's robust L1: mean sqrt((x - y)^2 + eps^2)."""
    return torch.sqrt((x - y).square() + eps * eps).mean()


def load_lapsrn(path, device: str | torch.device = "cpu") -> LapSRN:
    """The LapSRN of a ``lapsrn`` run's weights file, sized from its tensors, frozen."""
    from safetensors import safe_open

    from vidsr.errors import WeightsError
    from vidsr.models.io import load_networks, read_preset

    preset = read_preset(path)
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        if "LapSRN.head.0.weight" not in keys:
            raise WeightsError(f"{path} holds no LapSRN (is it a lapsrn run?)")
        width = int(f.get_slice("LapSRN.head.0.weight").get_shape()[0])
    depth = sum(1 for k in keys if k.startswith("LapSRN.features.0.") and k.endswith(".weight")) - 1
    net = LapSRN(preset, width=width, depth=depth)
    load_networks(path, {"LapSRN": net})
    return net.to(device).eval().requires_grad_(False)
