"""Our evaluation classifiers (paper section 4.3): C_g (gender) and, where the data allows,
C_i (identity). Trained by :mod:`vidsr.train.stages.classifiers`; read by the evaluation
and by the fusion stage's gender loss.

The paper fine-tunes two VGG-Face CNNs on its training set. VGG-Face weights cannot be had
offline here, so C_g is a small CNN trained from scratch by ``vidsr train --stage
classifiers`` on the high-res training faces (d1 + d2). Both classifiers share one layout,
:class:`FaceClassifier`: 3x3 convolutions with batch norm, stride-2 steps down to 4x4,
global average pooling, dropout and a linear layer to the classes. Inputs are faces
[B, 3, H, W] in [-1, 1], resized to the classifier's own size: C_g looks at 32x32 faces
(gender needs no more: dlib's public gender classifier also reads 32x32 chips, and it
keeps C_g cheap enough to train on one CPU core), C_i at the preset's resolution.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from torch import nn

from vidsr.errors import WeightsError
from vidsr.models.io import load_networks, networks_in

GENDERS = ("male", "female")  # label 0, 1 (as in the prepared sets)


class FaceClassifier(nn.Module):
    """`size` x `size` faces (inputs of another size are resized) -> logits over `classes`.

    Widths start at `width` and double at every stride-2 step down to 4x4 (capped at 256).
    """

    def __init__(self, size: int, classes: int, width: int = 16):
        super().__init__()
        steps = max(1, int(math.log2(size // 4)))
        widths = [min(width * 2**i, 256) for i in range(steps + 1)]
        layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1), nn.BatchNorm2d(widths[0]), nn.ReLU()]
        for w_in, w_out in zip(widths, widths[1:]):
            layers += [nn.Conv2d(w_in, w_out, 3, stride=2, padding=1), nn.BatchNorm2d(w_out), nn.ReLU(),
                       nn.Conv2d(w_out, w_out, 3, padding=1), nn.BatchNorm2d(w_out), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(widths[-1], classes))
        self.size = size
        # Saved with the weights so that a file describes its own network.
        self.register_buffer("shape", torch.tensor([size, classes, width]))
        # Identity classes: indices into the prepared set's meta "identities" (C_i only).
        self.register_buffer("classes", torch.arange(classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Faces [B, 3, H, W] in [-1, 1] -> logits [B, classes]."""
        if x.shape[-1] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bicubic", antialias=True, align_corners=False)
        return self.head(self.features(x).mean((2, 3)))


def _shape_in(path: Path, name: str) -> list[int]:
    with safe_open(str(path), framework="pt") as f:
        key = f"{name}.shape"
        if key not in f.keys():
            raise WeightsError(f"{path} holds no {name} classifier")
        return [int(v) for v in f.get_tensor(key).tolist()]


def load_classifiers(path: str | Path, device: str | torch.device = "cpu") -> dict[str, FaceClassifier]:
    """The classifiers in a ``classifiers`` run's weights file: {"C_g": ..., "C_i": ...}
    (C_i only where it was trained), frozen, in eval mode."""
    path = Path(path)
    nets = {name: FaceClassifier(*_shape_in(path, name)) for name in networks_in(path) if name in ("C_g", "C_i")}
    if "C_g" not in nets:
        raise WeightsError(f"{path} holds no gender classifier C_g (is it a classifiers run?)")
    load_networks(path, nets)
    return {n: m.to(device).eval().requires_grad_(False) for n, m in nets.items()}


def read_report(run_dir: str | Path) -> dict:
    """The classifiers stage's ``classifiers.json`` (held-out accuracy, why C_i is absent)."""
    p = Path(run_dir) / "classifiers.json"
    return json.loads(p.read_text()) if p.is_file() else {}
