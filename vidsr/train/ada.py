"""Adaptive discriminator augmentation (Karras et al., "Training Generative Adversarial
Networks with Limited Data", NeurIPS 2020), in plain PyTorch and kept small.

Every image D sees, real or generated, is augmented with probability ``p`` per transform:
integer-free translation (1/8 of the side), isotropic and anisotropic scaling (log-normal,
0.2 log 2), rotation (any angle), brightness (N(0, 0.2)), contrast (log-normal, 0.5 log 2)
and saturation (log-normal, log 2) - the paper's geometric and colour groups without the
90-degree rotations, flips (the data are flipped already) and hue. All are differentiable, so
G learns through them; with ``p`` below about 0.8 they do not leak into G's samples.

``p`` adapts to the overfitting heuristic r_t = E[sign(D(real))]: every ``interval`` steps it
moves by ``batch * interval / (speed_kimg * 1000)`` towards keeping r_t at ``target`` (0.6),
so it can go from 0 to 1 in ``speed_kimg`` thousand images. Its state goes into checkpoints.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

LUMA = torch.tensor([0.299, 0.587, 0.114])


class AdaptiveAugment:
    def __init__(self, batch: int, target: float | None = 0.6, speed_kimg: float = 500.0, interval: int = 4):
        self.target, self.interval = target, interval
        self.step_size = batch * interval / (speed_kimg * 1000.0)
        self.p = 0.0
        self._signs, self._count = 0.0, 0
        self.rt = 0.0  # the last interval's r_t (logged even when adaptation is off)

    @property
    def enabled(self) -> bool:
        return self.target is not None

    def observe(self, real_logits: torch.Tensor) -> None:
        """Accumulate sign(D(real)); every `interval` calls, update r_t and p."""
        self._signs += float(real_logits.detach().sign().sum())
        self._count += real_logits.numel()
        if self._count >= self.interval * real_logits.numel():
            self.rt = self._signs / self._count
            self._signs, self._count = 0.0, 0
            if self.enabled:
                self.p = min(max(self.p + math.copysign(self.step_size, self.rt - self.target), 0.0), 1.0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Augment images [B, 3, H, W] in [-1, 1] (identity when p is 0)."""
        if self.p <= 0.0:
            return x
        return _color(_geometric(x, self.p), self.p)

    def state(self) -> dict[str, torch.Tensor]:
        return {"ada": torch.tensor([self.p, self._signs, float(self._count), self.rt], dtype=torch.float64)}

    def load_state(self, extra: dict[str, torch.Tensor]) -> None:
        if "ada" in extra:
            self.p, self._signs, count, self.rt = extra["ada"].tolist()
            self._count = int(count)


def _chosen(b: int, p: float, device) -> torch.Tensor:
    return (torch.rand(b, device=device) < p).float()


def _geometric(x: torch.Tensor, p: float) -> torch.Tensor:
    b, dev = x.shape[0], x.device
    log_sd = 0.2 * math.log(2)
    s = torch.exp(torch.randn(b, device=dev) * log_sd * _chosen(b, p, dev))          # isotropic scale
    a = torch.exp(torch.randn(b, device=dev) * log_sd * _chosen(b, p, dev))          # anisotropic
    theta = (torch.rand(b, device=dev) * 2 - 1) * math.pi * _chosen(b, 1 - math.sqrt(1 - p), dev)
    t = (torch.rand(b, 2, device=dev) * 2 - 1) * 0.125 * 2 * _chosen(b, p, dev)[:, None]  # in [-1, 1] units
    moved = (s != 1) | (a != 1) | (theta != 0) | (t != 0).any(1)
    if not bool(moved.any()):
        return x
    cos, sin = torch.cos(theta), torch.sin(theta)
    sx, sy = 1 / (s * a), a / s  # the grid maps output to input, so scale by the inverse
    m = torch.stack([torch.stack([cos * sx, -sin * sy, t[:, 0]], 1), torch.stack([sin * sx, cos * sy, t[:, 1]], 1)], 1)
    chosen = x[moved]
    grid = F.affine_grid(m[moved], list(chosen.shape), align_corners=False)
    out = x.clone()
    out[moved] = F.grid_sample(chosen, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    return out


def _color(x: torch.Tensor, p: float) -> torch.Tensor:
    b, dev = x.shape[0], x.device
    bright = torch.randn(b, device=dev) * 0.2 * _chosen(b, p, dev)
    contrast = torch.exp(torch.randn(b, device=dev) * 0.5 * math.log(2) * _chosen(b, p, dev))
    sat = torch.exp(torch.randn(b, device=dev) * math.log(2) * _chosen(b, p, dev))
    luma = (x * LUMA.to(x)[None, :, None, None]).sum(1, keepdim=True)
    x = luma + (x - luma) * sat[:, None, None, None]
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * contrast[:, None, None, None] + mean + bright[:, None, None, None]
