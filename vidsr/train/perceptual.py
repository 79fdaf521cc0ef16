"""l_feat, the perceptual loss of eq. (1).

The paper uses VGG16 features (its supplement names no layers). No VGG16 weights ship in
any package that installs here and nothing may be downloaded, so there are two kinds:

- ``vgg16``: when the user supplies ImageNet VGG16 weights as a local safetensors file
  (``--vgg16 FILE`` or ``$VIDSR_VGG16``; torchvision's ``vgg16`` key names), the mean
  squared distance between channel-normalised activations at relu1_2, relu2_2, relu3_3
  and relu4_3 (the LPIPS layers), inputs normalised as ImageNet expects.
- ``discriminator`` (the fallback, used when no VGG16 file is given): the same distance
  on the activations of our own face discriminator D from the generator stage (after its
  RGB layer and each residual block), plus an L1 pixel term for colour. D has learnt
  face features at exactly this resolution, which is what makes it a useful perceptual
  space here; it is frozen.

The run's options.json records which kind was used.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from vidsr.errors import WeightsError

VGG_LAYERS = (3, 8, 15, 22)  # relu1_2, relu2_2, relu3_3, relu4_3 in torchvision's vgg16().features
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _normalised_distance(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    total = 0.0
    for a, b in zip(fa, fb):
        a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-8)
        b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-8)
        total = total + (a - b).pow(2).sum(1).mean()
    return total / len(fa)


class VGGFeatures(nn.Module):
    def __init__(self, weights: Path):
        super().__init__()
        from safetensors.torch import load_file
        from torchvision.models import vgg16

        net = vgg16(weights=None).features[: VGG_LAYERS[-1] + 1]
        try:
            state = {k.removeprefix("features."): v for k, v in load_file(str(weights)).items() if k.startswith("features.")}
            net.load_state_dict(state, strict=False)
        except Exception as e:  # any unreadable or mismatched file
            raise WeightsError(f"cannot load VGG16 weights from {weights}: {e}") from None
        self.net = net.eval().requires_grad_(False)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = ((x + 1) / 2 - self.mean) / self.std
        feats = []
        for i, layer in enumerate(self.net):
            x = layer(x)
            if i in VGG_LAYERS:
                feats.append(x)
        return feats


class PerceptualLoss(nn.Module):
    """l_feat(x, y) for images in [-1, 1]."""

    def __init__(self, kind: str, features: nn.Module, pixel_weight: float = 0.0):
        super().__init__()
        self.kind, self.features, self.pixel_weight = kind, features, pixel_weight

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = _normalised_distance(self.features(x), self.features(y))
        if self.pixel_weight:
            loss = loss + self.pixel_weight * (x - y).abs().mean()
        return loss


class _DFeatures(nn.Module):
    def __init__(self, D: nn.Module):
        super().__init__()
        self.D = D.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.D.features(x)


def build_perceptual(D: nn.Module | None, vgg16: str | os.PathLike | None = None) -> PerceptualLoss:
    """VGG16 when weights are given (argument or $VIDSR_VGG16), else the discriminator fallback."""
    vgg16 = vgg16 or os.environ.get("VIDSR_VGG16")
    if vgg16:
        return PerceptualLoss("vgg16", VGGFeatures(Path(vgg16)))
    if D is None:
        raise WeightsError("the perceptual loss needs VGG16 weights or the generator stage's discriminator D")
    return PerceptualLoss("discriminator", _DFeatures(D), pixel_weight=1.0)
