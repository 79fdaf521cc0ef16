"""The inference model of Fig. 1: E_l, E_a, F (or F_3) and G, loaded from one weights file.

    z_l = E_l(x_l);  z_a = E_a(a);  z_f = z_l + F(z_l, z_a);  x = G(z_f)

or, for a model with the fidelity path R (:mod:`vidsr.models.fidelity`), x = R(up(x_own), G's
features for z_f), the face's own pixels giving the structure and G the detail; and, at
inference, optionally a few steps that move G's styles until D of G's face comes nearer
the input (:meth:`FaceSR.refine`; off by default), then a back-projection onto the input (:meth:`FaceSR.back_project`):
x + s * up(x_l - D(x)), so that D of the face shown comes back towards x_l. With no voice, the
output is G(E_l(x_l)) ("E_l only"). Voices may come from another video
(the paper's mixing, Fig. 1b): any spectrogram can be paired with any face.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from vidsr.errors import WeightsError
from vidsr.imaging import downsample, upsample_bicubic
from vidsr.models.encoders import AudioEncoder, LowResEncoder
from vidsr.models.fidelity import FidelityNet
from vidsr.models.fusion import Fusion
from vidsr.models.generator import Generator
from vidsr.models.io import load_networks, read_metadata, save_networks
from vidsr.models.presets import Preset

# G's faces per call on the CPU: the activations of a bigger batch outgrow the caches (64 px
# faces of the cpu preset: 32 at a time in channels-last memory run about 2x faster per face
# than 64 in the default layout, one thread; benchmarks/enhance.py).
CPU_G_BATCH = 32
# Adam's step size on G's styles w+ in FaceSR.refine. 5 steps at 0.1 brought a model's
# faces of 256 degraded LFW/UTKFace test inputs nearer the person (dlib distance, after the
# back-projection, paired -0.018 +- 0.004); 10 steps or a step of 0.2 were no better, 20 worse
# (D(G) then follows the input's noise). On real footage it did not (Drawing.refine is 0 by
# default): research/refine/README.md.
REFINE_LR = 0.1


class FaceSR(nn.Module):
    def __init__(self, preset: Preset, fusion_layers: int = 1, fidelity: bool | None = None):
        """``fidelity``: None, the paper's model (no R); True / False, with R reading G's
        features or not (:class:`FidelityNet`'s ``prior``)."""
        super().__init__()
        self.preset = preset
        self.G = Generator(preset)
        self.E_l = LowResEncoder(preset)
        self.E_a = AudioEncoder(preset)
        self.F = Fusion(preset, layers=fusion_layers)
        self.R = None if fidelity is None else FidelityNet(preset, prior=fidelity)

    @property
    def fusion_key(self) -> str:
        return "F" if self.F.layers == 1 else "F_3"

    @property
    def reads_pixels(self) -> bool:
        """Whether every face drawn needs its input pixels (a model with R), whatever the drawing options."""
        return self.R is not None

    def networks(self) -> dict[str, nn.Module]:
        nets = {"G": self.G, "E_l": self.E_l, "E_a": self.E_a, self.fusion_key: self.F}
        return nets if self.R is None else {**nets, "R": self.R}

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> "FaceSR":
        """Load a weights file written by :meth:`save` (or ``vidsr export``)."""
        meta = read_metadata(path)  # one read: the preset, the networks, R's layout
        preset, names = Preset.from_dict(meta["preset"]), meta["networks"]
        if not {"G", "E_l", "E_a"} <= set(names) or not ({"F", "F_3"} & set(names)):
            raise WeightsError(f"{path} is not a complete vidsr model (it holds {', '.join(names)}; "
                               "a model needs G, E_l, E_a and F or F_3)")
        fidelity = bool(meta.get("fidelity_prior", True)) if "R" in names else None
        model = cls(preset, fusion_layers=1 if "F" in names else 3, fidelity=fidelity)
        load_networks(path, model.networks())
        model.source = os.fspath(path)  # the file it came from (the report names it)
        # channels-last: oneDNN's convolutions run faster in it on the CPU (and on GPUs' tensor cores)
        return model.to(device, memory_format=torch.channels_last).eval().requires_grad_(False)

    def save(self, path: str | Path, extra: dict | None = None, half: bool = False) -> None:
        if self.R is not None:
            extra = {**(extra or {}), "fidelity_prior": self.R.prior}
        save_networks(path, self.networks(), self.preset, extra, dtype=torch.float16 if half else None)

    # -- the pipeline of Fig. 1 ---------------------------------------------------------
    def downsample(self, x_h: torch.Tensor) -> torch.Tensor:
        """The paper's D: a high-res face bicubic-downsampled to the model's input size l."""
        return downsample(x_h, self.preset.lr_size)

    def encode_lowres(self, x_l: torch.Tensor) -> torch.Tensor:
        return self.E_l(x_l)

    def encode_audio(self, spec: torch.Tensor) -> torch.Tensor:
        return self.E_a(spec)

    def fuse(self, z_l: torch.Tensor, z_a: torch.Tensor | None) -> torch.Tensor:
        return z_l if z_a is None else self.F(z_l, z_a)

    @staticmethod
    def _pieces(t: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """A batch as G takes it: on the CPU in pieces of CPU_G_BATCH faces, elsewhere whole."""
        return t.split(CPU_G_BATCH) if t.device.type == "cpu" else (t,)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """x = G(z) [B,3,R,R] (no noise); on the CPU in pieces of CPU_G_BATCH faces."""
        pieces = self._pieces(z)
        if len(pieces) == 1:
            return self.G(z, noise_mode="none")
        return torch.cat([self.G(part, noise_mode="none") for part in pieces])

    def restore(self, z: torch.Tensor, x_own: torch.Tensor, weight: float = 1.0) -> torch.Tensor:
        """The fidelity path: R(up(x_own), G's features for z, ``weight``) [B,3,R,R]; x_own [B,3,n,n],
        any n up to R (the face's own pixels); ``weight``: how much of G's features R reads (1 all,
        0 none); on the CPU in pieces of CPU_G_BATCH faces."""
        out = []
        for part, own in zip(self._pieces(z), self._pieces(x_own)):
            u = self.R.zoom(own.to(part.dtype))
            out.append(self.R(u, self._prior(part, weight), weight))
        return torch.cat(out)

    def _prior(self, z: torch.Tensor, weight: float) -> dict[int, torch.Tensor] | None:
        """G's features for R (None for an R without the prior, and at weight 0, where G need not run)."""
        return self.G.features(z)[1] if self.R.prior and weight > 0 else None

    def refine(self, z: torch.Tensor, x_l: torch.Tensor, steps: int, lr: float = REFINE_LR) -> torch.Tensor:
        """G's faces [B,3,R,R] for the codes z, their styles w = mapping(z) first moved by
        ``steps`` steps of Adam on |D(G(w)) - x_l|^2 (G's own weights untouched): the face G
        draws is made to agree with what the picture shows, as GAN inversion does (PULSE),
        starting from the encoders' code instead of from noise. Adam moves each face's styles on
        their own gradient, so the result does not depend on the batch. ``steps`` 0: G(z).
        ``x_l`` may be any size up to R (D then shrinks to it), as in :meth:`back_project`."""
        if steps == 0:
            return self.generate(z)
        faces = []
        with torch.inference_mode(False), torch.enable_grad():
            for part, target in zip(self._pieces(z), self._pieces(x_l)):
                target = target.clone()  # a tensor made under inference mode cannot enter autograd
                w = self.G.mapping(part.clone()).detach().requires_grad_(True)
                adam = torch.optim.Adam([w], lr=lr)
                for _ in range(steps):
                    loss = (downsample(self.G.synthesis(w), target.shape[-1]).float() - target.float()).pow(2).sum()
                    adam.zero_grad(set_to_none=True)
                    loss.backward()
                    adam.step()
                with torch.no_grad():
                    faces.append(self.G.synthesis(w.detach()))
        return torch.cat(faces)

    def back_project(self, x: torch.Tensor, x_l: torch.Tensor, strength: float, detail: float = 1.0) -> torch.Tensor:
        """x + strength * up(x_l - D(x)), clamped to [-1, 1]: the input's own low frequencies
        put back into G's face (one step of Irani & Peleg's iterative back-projection; the
        range-space part of DDNM's decomposition). At strength 1 the picture keeps the input's
        colour, light, shape and pose and G contributes what D cannot see (the detail); one
        step, so D(result) is x_l only up to the bicubic round trip (D o up is not the
        identity: a third of a white-noise residual stays) and the clamping. 0: x unchanged.

        ``detail`` < 1 keeps that share of G's detail, x - up(D(x)) (what D cannot see), and
        leaves the rest to the input's: at strength 1 the face is up(x_l) + detail * (x - up(D(x))),
        bicubic from the input at 0. G's detail is plausible, not always the person's.

        ``x_l`` may be any size up to R, D then shrinking to it: the pipeline passes the face's
        own pixels (a 12 px face's 14 px crop), so that none of what the picture shows is lost
        to the l x l input E_l needs."""
        if strength == 0 and detail == 1:
            return x
        r, d_x = x.shape[-1], downsample(x, x_l.shape[-1])
        out = x + strength * upsample_bicubic(x_l.to(x.dtype) - d_x, r)
        if detail != 1:
            out = out - (1 - detail) * (x - upsample_bicubic(d_x, r))
        return out.clamp(-1, 1)

    def draw(self, z: torch.Tensor, x_l: torch.Tensor | None, refine: int, back_project: float,
             detail: float = 1.0) -> torch.Tensor:
        """The faces shown for the codes z, in float32: G's, refined toward x_l for ``refine``
        steps (:meth:`refine`), then back-projected onto it at strength ``back_project``, keeping
        the share ``detail`` of G's detail (:meth:`back_project`); x_l may be None when both
        are 0 and ``detail`` 1 and the model has no R. With R (:meth:`restore`; ``refine`` then
        does not apply), ``detail`` is the weight of G's features in R (the same trade: 1 all of
        the prior, 0 the picture alone) and the back-projection acts on R's face whole."""
        if self.R is not None:
            return self.back_project(self.restore(z, x_l, detail).float(), x_l, back_project)
        return self.back_project(self.refine(z, x_l, refine).float(), x_l, back_project, detail)

    def forward(self, x_l: torch.Tensor, spec: torch.Tensor | None = None, back_project: float = 0.0,
                refine: int = 0, detail: float = 1.0) -> torch.Tensor:
        """x_l [B,3,l,l] in [-1,1], spec [B,1,257,257] or None -> faces [B,3,R,R] in [-1,1]
        (``refine``: :meth:`refine`'s steps, ``back_project``: :meth:`back_project`'s
        strength, ``detail``: the share of G's detail kept; 0, 0 and 1 are the paper's G(z_f))."""
        z_a = None if spec is None else self.encode_audio(spec)
        return self.draw(self.fuse(self.encode_lowres(x_l), z_a), x_l, refine, back_project, detail)
