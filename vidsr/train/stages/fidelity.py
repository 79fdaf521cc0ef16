"""The fidelity stage: R (vidsr/models/fidelity.py) learns to restore the face from its own pixels
and G's features, with G, E_l, E_a and F frozen (read from the model file ``init``).

Each training face is degraded exactly as the pipeline cuts a real one (:func:`vidsr.data.degrade.degrade_face`
with ``own``: a detector box ``face_px`` wide in a simulated frame, shrunk by a camera's filter,
blurred, colour-shifted, noisy, JPEG-compressed, the box jittered), which gives both of the
pipeline's inputs: E_l's l x l crop and the same crop at the face's own size. Then

    z_f = E_l(x_l) + F(E_l(x_l), E_a(a))      (z_l alone for a share 1 - voice_share of rows: no voice)
    x   = R(up(x_own), G's features for z_f)

    min_R  pixel_weight |x - x_h|_1 + feat_weight l_feat(x, x_h) + identity_weight |E_h(x) - E_h(x_h)|_1
           + gender_weight CE(C_g(x), gender)

l_feat is eq. (1)'s perceptual loss (:mod:`vidsr.train.perceptual`: VGG16 when given, else our
own D's features); the identity term compares E_h's codes of the two faces (our own inversion
of G, the paper's identity space; never the evaluation's judges); the gender term is our C_g
(the classifiers stage) against the face's (and so its voice's) gender, so that where the picture
cannot tell the gender, R learns to take it from G's features, which hear the voice. With the
option ``prior`` false, R reads no G features and every weight but ``pixel_weight`` should be 0:
the plain regression network the prior must beat.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.data.degrade import degrade_face
from vidsr.errors import VidsrError
from vidsr.imaging import from_uint8, to_uint8, upsample_nearest
from vidsr.models.facesr import FaceSR
from vidsr.models.fidelity import FidelityNet
from vidsr.models.io import load_networks
from vidsr.train.context import TrainContext
from vidsr.train.perceptual import build_perceptual
from vidsr.train.stages.common import (DEGRADE_STREAM, Batches, Stage, adam, fixed_samples, set_crop_scale, step_rng,
                                       trained)
from vidsr.train.stages.fusion import gender_classifier

VOICE_STREAM = 74  # keeps the choice of rows that hear no voice apart from every other seeded stream
PRIOR_STREAM = 75  # keeps each row's weight of G's features apart from every other seeded stream


class FidelityStage(Stage):
    name = "fidelity"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        if not o.get("init"):
            raise VidsrError("the fidelity stage needs --init MODEL: the model file whose G, E_l, E_a and F it builds on")
        self.base = FaceSR.load(Path(o["init"]), ctx.device)
        if self.base.preset.resolution != ctx.preset.resolution:
            raise VidsrError(f"{o['init']} is a {self.base.preset.resolution} px model, the preset '{ctx.preset.name}' "
                             f"{ctx.preset.resolution} px")
        self.prior = bool(o["prior"])
        self.R = FidelityNet(ctx.preset, prior=self.prior).to(ctx.device)
        started = {"init_R": str(o["init_R"]) if o.get("init_R") else None}  # R warm-started from another run's
        if o.get("init_R"):
            load_networks(Path(o["init_R"]), {"R": self.R})
        ctx.replicate(self.R)
        self.opt = adam(self.R.parameters(), float(o["lr"]))
        self.trains({"R": self.R}, {"R": self.opt})
        self.weights = {k: float(o[k]) for k in ("pixel_weight", "feat_weight", "identity_weight", "gender_weight")}
        if not self.prior and any(self.weights[k] for k in ("identity_weight", "gender_weight")):
            raise VidsrError("prior off (the regression baseline) trains on pixel_weight and feat_weight only")
        need = [n for n, k in (("E_h", "identity_weight"), ("D", "feat_weight")) if self.weights[k] > 0]
        nets = dict(zip(need, trained(ctx, *need))) if need else {}
        self.E_h = nets.get("E_h")
        self.feat = build_perceptual(nets.get("D"), o.get("vgg16")).to(ctx.device) if "D" in nets else None
        self.C_g = gender_classifier(ctx) if self.weights["gender_weight"] > 0 else None
        self.face_px = tuple(float(v) for v in o["face_px"])
        self.voice_share = float(o["voice_share"])
        self.prior_ends = None if o["prior_ends"] is None else float(o["prior_ends"])
        self.crop_scale = set_crop_scale(ctx.data)
        self.fixed = fixed_samples(ctx, "d2", with_audio=True)
        self.data = Batches(ctx, ["d1", "d2"], self.batch_size, with_audio=True, augment_audio=bool(o["augment"]))
        self.recorded_options = {"init": str(o["init"]), **started, "prior": self.prior, **self.weights,
                                 "face_px": list(self.face_px), "voice_share": self.voice_share, "prior_ends": self.prior_ends,
                                 "crop_scale": self.crop_scale, "perceptual": self.feat.kind if self.feat else None}

    # -- inputs ------------------------------------------------------------------------
    def degrade(self, x_h: torch.Tensor, step: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        """(E_l's l x l inputs, the own pixels enlarged to R px) of clean faces x_h, degraded as the
        pipeline cuts real ones; ``step`` None: the fixed degradations of the sample grid."""
        tail = [self.ctx.rank] + ([] if step is None else [step + 1])
        rng = np.random.default_rng([self.ctx.seed, DEGRADE_STREAM, *tail])
        lows, zooms = [], []
        for face in to_uint8(x_h):
            low, info = degrade_face(face, self.ctx.preset.lr_size, rng, self.crop_scale, self.face_px, own=True)
            lows.append(low)
            zooms.append(self.R.zoom(from_uint8(info["own"][None])))
        return from_uint8(np.stack(lows)).to(x_h.device), torch.cat(zooms).to(x_h.device)

    @torch.no_grad()
    def prior_features(self, x_l: torch.Tensor, audio: torch.Tensor | None, voiced: torch.Tensor | None):
        """G's features for z_f (z_l where ``voiced`` is False), or None with the prior off."""
        if not self.prior:
            return None
        z_l = self.base.encode_lowres(x_l)
        z = z_l
        if audio is not None:
            z_f = self.base.fuse(z_l, self.base.encode_audio(log_spectrogram(audio)))
            z = torch.where(voiced[:, None, None], z_f, z_l)
        return self.base.G.features(z)[1]

    def _prior_weights(self, n: int, step: int) -> torch.Tensor:
        """Each row's weight of G's features in R (:meth:`FidelityNet.forward`): uniform in [0, 1],
        a share ``prior_ends`` of the rows exactly 0 or 1 (half each), so that every weight the
        user may choose (``--detail``) was trained; all 1 with ``prior_ends`` None."""
        ends = self.prior_ends
        if ends is None:
            return torch.ones(n, device=self.ctx.device)
        rng = step_rng(self.ctx, PRIOR_STREAM, step)
        w = rng.random(n)
        end = rng.random(n) < ends
        w[end] = (rng.random(int(end.sum())) < 0.5).astype(float)
        return torch.from_numpy(w).float().to(self.ctx.device)

    def _voiced(self, n: int, step: int) -> torch.Tensor:
        return torch.from_numpy(step_rng(self.ctx, VOICE_STREAM, step).random(n) < self.voice_share).to(self.ctx.device)

    # -- the loop's frame --------------------------------------------------------------
    def train_step(self, step: int) -> dict[str, float]:
        batch = self.data.take(step)
        x_h = batch["hr"]
        x_l, u = self.degrade(x_h, step)
        feats = self.prior_features(x_l, batch["audio"], self._voiced(len(x_h), step))
        w = self.weights
        with self.ctx.autocast():
            x = self.R(u, feats, self._prior_weights(len(x_h), step)).float()
            l_pix = F.l1_loss(x, x_h)
            loss = w["pixel_weight"] * l_pix
            logged = {"pixel_l1": l_pix.item(), "zoom_l1": F.l1_loss(u, x_h).item()}
            if self.feat is not None:
                l_feat = self.feat(x, x_h)
                loss = loss + w["feat_weight"] * l_feat
                logged["loss_feat"] = l_feat.item()
            if self.E_h is not None:
                with torch.no_grad():
                    z_h = self.E_h(x_h)
                l_id = F.l1_loss(self.E_h(x).float(), z_h)
                loss = loss + w["identity_weight"] * l_id
                logged["identity_l1"] = l_id.item()
            if self.C_g is not None:
                gender = batch["gender"]
                known = gender >= 0
                logits = self.C_g(x[known]).float()
                ce = F.cross_entropy(logits, gender[known]) if known.any() else logits.sum() * 0.0
                loss = loss + w["gender_weight"] * ce
                logged.update(gender_ce=ce.item(), gender_acc=(logits.argmax(1) == gender[known]).float().mean().item())
        self.ctx.optimize(self.opt, loss)
        return {**logged, "loss": loss.item()}

    @torch.no_grad()
    def samples(self):
        """Rows: high-res, E_l's input (nearest), the zoom of the own pixels, R with no voice, R with the voice."""
        x_h = self.fixed["hr"]
        x_l, u = self.degrade(x_h, None)
        silent = self.R(u, self.prior_features(x_l, None, None))
        voiced = self.R(u, self.prior_features(x_l, self.fixed["audio"], torch.ones(len(x_h), dtype=torch.bool,
                                                                                     device=x_h.device)))
        return torch.cat([x_h, upsample_nearest(x_l, x_h.shape[-1]), u.clamp(-1, 1), silent.clamp(-1, 1),
                          voiced.clamp(-1, 1)]), len(x_h)

    def outputs(self):
        return {"R": self.R}

