"""F and F_3: the residual fusion network of paper section 3.4.

    z_f = E_l(x_l) + F(E_l(x_l), E_a(a))

F acts on the concatenation of the two codes. ``layers=1`` is the paper's F (one fully
connected layer), ``layers=3`` its F_3 (three, with leaky ReLU between). The last layer
starts at zero, so an untrained F leaves z_f = z_l and training learns only the residual.
"""

from __future__ import annotations

import torch
from torch import nn

from vidsr.models.presets import Preset


class Fusion(nn.Module):
    def __init__(self, preset: Preset, layers: int = 1):
        super().__init__()
        self.latent_shape = preset.latent_shape
        self.layers = layers
        k_d = preset.num_ws * preset.z_dim
        dims = [2 * k_d] + [preset.fusion_hidden] * (layers - 1) + [k_d]
        mods: list[nn.Module] = []
        for i in range(layers):
            mods.append(nn.Linear(dims[i], dims[i + 1]))
            if i < layers - 1:
                mods.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*mods)
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def _picture_mask(self) -> torch.Tensor:
        """True where the first layer's weights act on z_l (its first half of inputs)."""
        mask = torch.zeros_like(self.net[0].weight, dtype=torch.bool)
        mask[:, : self.net[0].in_features // 2] = True
        return mask

    @torch.no_grad()
    def forget_picture(self) -> None:
        """Zero the first layer's weights for z_l: F(z_l, z_a) = F(0, z_a) while they stay zero
        (they do where training feeds zeros for z_l: their gradient is then zero)."""
        self.net[0].weight.masked_fill_(self._picture_mask(), 0.0)

    def freeze_picture(self) -> None:
        """Let no gradient reach the first layer's weights for z_l (an optimiser without weight
        decay then leaves them as they are); the weights for z_a and the bias still learn."""
        mask = self._picture_mask()
        self.net[0].weight.register_hook(lambda grad: grad.masked_fill(mask, 0.0))

    def residual(self, z_l: torch.Tensor, z_a: torch.Tensor) -> torch.Tensor:
        """F(z_l, z_a): the correction Delta z."""
        return self.net(torch.cat([z_l.flatten(1), z_a.flatten(1)], dim=1)).view(-1, *self.latent_shape)

    def forward(self, z_l: torch.Tensor, z_a: torch.Tensor) -> torch.Tensor:
        """z_f = z_l + F(z_l, z_a)."""
        return z_l + self.residual(z_l, z_a)
