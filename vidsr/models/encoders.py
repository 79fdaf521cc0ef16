"""The three encoders of the paper, each mapping its input into G's per-layer codes [B, k, d].

Layouts follow ../shared/paper/README.md (the authors' demo); widths come from the preset.
- E_h (:class:`HighResEncoder`, section 3.2): high-res face -> z, trained to invert G.
- E_l (:class:`LowResEncoder`, section 3.3): 8x8 face -> z, trained to match E_h.
- E_a (:class:`AudioEncoder`, section 3.3): 257x257 log-spectrogram -> z, trained to match
  the flip-averaged E_h codes.
"""

from __future__ import annotations

import torch
from torch import nn

from vidsr.models.presets import Preset


def _lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2)


class ResidualBlock(nn.Module):
    """x + conv(lrelu(norm(conv(x)))), 3x3 convolutions at a constant width. The last
    convolution starts at zero, so a new block is the identity: an encoder grown by blocks
    computes at first exactly what it did without them (:attr:`HighResEncoder.grown`)."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.InstanceNorm2d(width, affine=True), _lrelu(),
                                  nn.Conv2d(width, width, 3, padding=1))
        nn.init.zeros_(self.body[-1].weight)
        nn.init.zeros_(self.body[-1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class HighResEncoder(nn.Module):
    """E_h: 4x4 stride-2 convolutions from the resolution down to 4x4, widths doubling from
    ``eh_width`` (capped), instance norm on every layer after the first, then one fully
    connected layer to k x d. ``eh_blocks`` (not in the paper's demo) adds that many
    :class:`ResidualBlock` after each stride-2 step: the demo's four convolutions are little
    depth to invert G with."""

    grown = ("blocks.",)  # tensors a warm start from the same encoder without blocks may lack

    def __init__(self, preset: Preset):
        super().__init__()
        self.latent_shape = preset.latent_shape
        layers: list[nn.Module] = []
        blocks: list[nn.Module] = []
        self.scale_ends: list[int] = []
        in_ch, width, res = 3, preset.eh_width, preset.resolution
        first = True
        while res > 4:
            layers.append(nn.Conv2d(in_ch, width, 4, stride=2, padding=1))
            if not first:
                layers.append(nn.InstanceNorm2d(width, affine=True))
            layers.append(_lrelu())
            self.scale_ends.append(len(layers))
            blocks.append(nn.Sequential(*(ResidualBlock(width) for _ in range(preset.eh_blocks))))
            in_ch, width, res, first = width, min(width * 2, preset.eh_width_max), res // 2, False
        self.convs = nn.Sequential(*layers)
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(in_ch * 16, preset.num_ws * preset.z_dim)

    def forward(self, x_h: torch.Tensor) -> torch.Tensor:
        h, start = x_h, 0
        for end, blocks in zip(self.scale_ends, self.blocks):
            h, start = blocks(self.convs[start:end](h)), end
        return self.fc(h.flatten(1)).view(-1, *self.latent_shape)


class LowResEncoder(nn.Module):
    """E_l: 3x3 convolutions with instance norm over 3 scales (8 -> 4 -> 2), then two fully
    connected layers; leaky ReLU 0.2 between layers."""

    def __init__(self, preset: Preset):
        super().__init__()
        self.latent_shape = preset.latent_shape
        w0, w1, w2 = preset.el_widths
        self.convs = nn.Sequential(
            nn.Conv2d(3, w0, 3, padding=1), nn.InstanceNorm2d(w0, affine=True), _lrelu(),
            nn.Conv2d(w0, w1, 3, stride=2, padding=1), nn.InstanceNorm2d(w1, affine=True), _lrelu(),
            nn.Conv2d(w1, w2, 3, stride=2, padding=1), nn.InstanceNorm2d(w2, affine=True), _lrelu(),
        )
        side = preset.lr_size // 4
        k_d = preset.num_ws * preset.z_dim
        self.fc = nn.Sequential(nn.Linear(w2 * side * side, preset.el_hidden), _lrelu(), nn.Linear(preset.el_hidden, k_d))

    def forward(self, x_l: torch.Tensor) -> torch.Tensor:
        return self.fc(self.convs(x_l).flatten(1)).view(-1, *self.latent_shape)


class AudioEncoder(nn.Module):
    """E_a: 4x4 stride-2 convolutions taking the 257x257 spectrogram down to 3x3
    (257 -> 129 -> 65 -> 33 -> 17 -> 9 -> 5 -> 3), widths doubling from ``ea_width``
    (capped), then two fully connected layers.

    The paper's demo has no normalisation; ``preset.ea_norm == "batch"`` adds BatchNorm after
    every convolution but the first. Without it the cpu-sized E_a sat on the mean-code plateau
    (outputs varied 100x less than its targets after 28k clips); with it, it hears the voice
    (research/training-choices.md gives the measurements).
    """

    SPEC_SIZE = 257

    def __init__(self, preset: Preset):
        super().__init__()
        self.latent_shape = preset.latent_shape
        layers: list[nn.Module] = []
        in_ch, width, size = 1, preset.ea_width, self.SPEC_SIZE
        while size > 3:
            layers.append(nn.Conv2d(in_ch, width, 4, stride=2, padding=2))
            if preset.ea_norm == "batch" and in_ch > 1:
                layers.append(nn.BatchNorm2d(width))
            layers.append(_lrelu())
            in_ch, width, size = width, min(width * 2, preset.ea_width_max), size // 2 + 1
        self.convs = nn.Sequential(*layers)
        self.fc = nn.Sequential(
            nn.Linear(in_ch * 9, preset.ea_hidden), _lrelu(), nn.Linear(preset.ea_hidden, preset.num_ws * preset.z_dim)
        )

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        """The hidden layer before the code: [B, ea_hidden]."""
        return self.fc[:2](self.convs(spec).flatten(1))

    def forward(self, spec: torch.Tensor) -> torch.Tensor:
        """spec: [B, 1, 257, 257] log-spectrogram in [-1, 1] (see vidsr.audio.spectrogram)."""
        return self.fc[2](self.features(spec)).view(-1, *self.latent_shape)
