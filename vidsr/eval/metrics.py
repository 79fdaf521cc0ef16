"""PSNR and SSIM in torch, per image, for Table 2.

Both are computed on 8-bit RGB: images in [-1, 1] are rounded to 0..255 (as they would be
saved) and scaled to [0, 1] (data range 1), all three channels. SSIM is Wang et al.
(2004) with the standard 11x11 Gaussian window (sigma 1.5), K1 = 0.01, K2 = 0.03,
population (co)variances, averaged over the valid part of the map (no padding) and over
the three channels; this equals scikit-image's ``structural_similarity(...,
gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=1,
channel_axis=-1)``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def to_unit(img: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> 8-bit levels scaled to [0, 1]."""
    return ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round() / 255.0


def psnr(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR in dB of [B, C, H, W] images (inf where they are identical)."""
    mse = (x.float() - y.float()).square().flatten(1).mean(1)
    return 10 * torch.log10(data_range**2 / mse)  # mse 0 -> inf


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(x: torch.Tensor, y: torch.Tensor, data_range: float = 1.0, size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """Per-image mean SSIM of [B, C, H, W] images with values in [0, data_range]."""
    if min(x.shape[-2:]) < size:
        raise ValueError(f"SSIM needs images of at least {size}x{size}, got {tuple(x.shape[-2:])}")
    c = x.shape[1]
    w = gaussian_window(size, sigma).to(torch.float64).to(x.device)[None, None].expand(c, 1, size, size)
    x, y = x.to(torch.float64), y.to(torch.float64)

    def filt(t):
        return F.conv2d(t, w, groups=c)

    mu_x, mu_y = filt(x), filt(y)
    var_x = filt(x * x) - mu_x**2
    var_y = filt(y * y) - mu_y**2
    cov = filt(x * y) - mu_x * mu_y
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return s.flatten(1).mean(1).float()


def image_quality(output: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(PSNR, SSIM) per image of outputs against targets, both in [-1, 1], on 8-bit RGB."""
    a, b = to_unit(output), to_unit(target)
    return psnr(a, b), ssim(a, b)
