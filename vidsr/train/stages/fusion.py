"""Stage 4 (paper section 3.4, eq. 4): the residual fusion F, with E_a fine-tuned, on D2.

    min_{E_a, F}  sum_{D2} |z^l + F(z^l, E_a(a)) - z|_1 + |D o G(z^l + F(z^l, E_a(a))) - x^l|_2^2

with z^l = E_l(x^l) (frozen) and z = E_h(x^h). Variants for the ablations of Table 1:
``layers`` 1 (F) or 3 (F_3), and ``finetune_audio`` false for "F + fixed E_a". Each variant
trains in its own run folder (fusion, fusion-f3, fusion-fixed) and writes F or F_3 with the
E_a it used. With the option ``degrade`` (the cpu preset's recipe) E_l sees x^h degraded as
a real tiny face is (vidsr.data.degrade), as it was trained; the consistency term still
compares with the clean D o x^h.

Additions to the paper (each an option, 0 turns it off; the paper's eq. (4) alone is all of
them at 0), so that F listens and keeps the face:

- ``gender_weight`` (lambda_G): cross-entropy of our frozen gender classifier C_g (the
  ``classifiers`` stage, trained on high-res faces of the training split; never the
  pretrained judges of the evaluation) on G(z_f) against the speaker's gender label. E_h's
  codes, eq. (4)'s target, carry the gender weakly, so with eq. (4) alone F learns to copy
  z^l and ignores z_a; this term rewards the output's gender, which at 8x8 the voice tells
  better than the picture.
- ``gender_balance``: the cross-entropy weighs each batch's men and women alike (each
  gender's rows by the inverse of their count), so that the training set's male majority
  (59 % of D2) does not teach F to lean male when the voice is heard. Measured once
  (research/candidates): it balanced the outputs on degraded test photos, not on
  real footage; off in the presets.
- ``pixel_weight``: L1 of G(z_f) to x^h, a target that carries more than E_h's codes.
- ``feat_weight``: eq. (1)'s perceptual loss l_feat(G(z_f), x^h), as the lowres stage's
  option of that name gives E_l: the fused face, not only its codes, is asked to be the
  person's, so that F keeps the identity E_l found instead of trading it for E_h's codes.
- ``keep_weight`` (lambda_K): L1 of F's residual, |z_f - z^l|_1: F moves E_l's code only as far
  as the other terms pay for (the voice's gender where the picture is ambiguous). On real
  footage E_l's own code has been nearer the person than F's (three rebuilds, research/candidates: F trades
  the identity E_l found for a face typical of the voice's gender); this term keeps it.
- ``ambiguous``: the share of each batch whose 8x8 input is made ambiguous (greyscale and
  blurred), where only the voice can tell the gender.
- ``voice_only``: F hears the voice and does not see E_l's code: its picture input is zeros in
  training and its weights for that input are zero (so at inference too), z_f = z^l + F(0, z_a).
  F then adds what the voice tells and cannot learn a correction of z^l itself (the paper's
  linear F is one: a regression of z - z^l on z^l, fitted to the training set's 8x8 inputs).
- ``fixed_picture``: F (layers 1) and E_a start from the model file ``init`` (a picture term
  fitted in closed form, e.g. by research/scripts/fit_picture_term.py) and F's weights for z^l stay as they are
  there: training moves the voice term (and the bias) on top of that fixed correction of z^l.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.errors import VidsrError
from vidsr.imaging import upsample_nearest
from vidsr.models.runs import variant_name, weights_file
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import (Batches, LowResInputs, Stage, adam, build, code_and_sr_loss, fixed_samples,
                                       step_rng, trained_with_feat, warm_start)

AMBIGUOUS_STREAM = 73  # keeps the choice of ambiguous inputs apart from every other seeded stream


def make_ambiguous(x_l: torch.Tensor) -> torch.Tensor:
    """An 8x8 input with its colour and fine detail taken away: greyscale, then a 3x3 blur."""
    grey = x_l.mean(1, keepdim=True)
    blurred = F.avg_pool2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    return blurred.expand_as(x_l).contiguous()


def class_weights(labels: torch.Tensor, classes: int = 2) -> torch.Tensor:
    """Per-class weights for a cross-entropy that weighs every class present alike: the
    inverse of each class's count among ``labels`` (a class absent gets a finite weight that no row uses)."""
    counts = torch.bincount(labels, minlength=classes).clamp(min=1).float()
    return len(labels) / (classes * counts)


def gender_classifier(ctx: TrainContext):
    """C_g as written by the classifiers stage, frozen (gradients flow through its input only)."""
    from vidsr.models.classifiers import load_classifiers

    path = weights_file(ctx.runs, "classifiers")
    if not path.exists():
        raise VidsrError(f"gender_weight needs our gender classifier C_g: {path} is missing "
                         "(vidsr train --stage classifiers first)")
    return load_classifiers(path, ctx.device)["C_g"]


class FusionStage(Stage):
    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        self.layers = int(o["layers"])
        self.finetune_audio = bool(o["finetune_audio"])
        self.name = variant_name(self.layers, self.finetune_audio)
        self.fusion_key = "F" if self.layers == 1 else "F_3"
        (self.G, self.E_h, self.E_l, self.E_a), self.feat = trained_with_feat(ctx, "G", "E_h", "E_l", "E_a")
        self.F = build(self.fusion_key, ctx)
        self.init = warm_start(ctx, {self.fusion_key: self.F, "E_a": self.E_a})  # before voice_only zeroes F's z_l weights
        self.voice_only = bool(o["voice_only"])
        if self.voice_only:
            self.F.forget_picture()
        self.fixed_picture = bool(o["fixed_picture"])
        if self.fixed_picture:
            self._fix_picture()
        ctx.replicate(self.F)
        params = list(self.F.parameters())
        if self.finetune_audio:
            self.E_a.train().requires_grad_(True)
            params += list(self.E_a.parameters())
        self.opt = adam(params, float(o["lr"]))
        self.trains({self.fusion_key: self.F, "E_a": self.E_a}, {"fusion": self.opt})
        self.augment = bool(o["augment"])
        self.gender_weight = float(o["gender_weight"])
        self.gender_balance = bool(o["gender_balance"])
        self.pixel_weight = float(o["pixel_weight"])
        self.keep_weight = float(o["keep_weight"])
        self.ambiguous = float(o["ambiguous"])
        self.C_g = gender_classifier(ctx) if self.gender_weight > 0 else None
        self.fixed = fixed_samples(ctx, "d2", with_audio=True)
        self.data = Batches(ctx, "d2", self.batch_size, with_audio=True, augment_audio=self.augment)
        self.inputs = LowResInputs(ctx)
        self.recorded_options = {"fusion": self.fusion_key, "finetune_audio": self.finetune_audio, "augment_audio": self.augment,
                                 "gender_weight": self.gender_weight, "gender_balance": self.gender_balance, "pixel_weight": self.pixel_weight,
                                 "keep_weight": self.keep_weight, "voice_only": self.voice_only,
                                 "fixed_picture": self.fixed_picture, **self.init,
                                 **self.feat.recorded,
                                 "ambiguous": self.ambiguous, **self.inputs.recorded}

    def _fix_picture(self) -> None:
        """Option ``fixed_picture``: F's weights for z_l stay as ``init`` gave them (:meth:`Fusion.freeze_picture`)."""
        if self.voice_only or self.layers != 1 or self.init["init"] is None:
            raise VidsrError("fixed_picture needs the paper's F (layers 1), an init model file with its picture term "
                             "(research/scripts/fit_picture_term.py) and voice_only off")
        self.F.freeze_picture()

    def _ambiguous_rows(self, n: int, step: int) -> torch.Tensor:
        return torch.from_numpy(step_rng(self.ctx, AMBIGUOUS_STREAM, step).random(n) < self.ambiguous).to(self.ctx.device)

    def train_step(self, step: int) -> dict[str, float]:
        batch = self.data.take(step)
        x_h = batch["hr"]
        x_in, x_l = self.inputs(x_h, step)
        if self.ambiguous > 0:
            rows = self._ambiguous_rows(len(x_in), step)
            x_in = torch.where(rows[:, None, None, None], make_ambiguous(x_in), x_in)
        with torch.no_grad():
            z, z_l = self.E_h(x_h), self.E_l(x_in)
        with self.ctx.autocast():
            z_a = self.E_a(log_spectrogram(batch["audio"]))
            picture = torch.zeros_like(z_l) if self.voice_only else z_l  # voice_only: F never sees z_l
            z_f = z_l + self.F.residual(picture, z_a)
            x_f = self.G(z_f)
            loss, logged = code_and_sr_loss(z_f, x_f, z, x_l, 1.0)  # eq. (4) weighs both terms alike
            if self.pixel_weight > 0:
                l_pix = F.l1_loss(x_f.float(), x_h)
                loss = loss + self.pixel_weight * l_pix
                logged["pixel_l1"] = l_pix.item()
            if self.keep_weight > 0:
                l_keep = F.l1_loss(z_f.float(), z_l)
                loss = loss + self.keep_weight * l_keep
                logged["keep_l1"] = l_keep.item()
            loss = self.feat.add(loss, logged, x_f, x_h)
            if self.C_g is not None:
                gender = batch["gender"]
                known = gender >= 0
                g = gender[known]
                logits = self.C_g(x_f[known]).float()
                ce = F.cross_entropy(logits, g, weight=class_weights(g) if self.gender_balance else None) \
                    if known.any() else logits.sum() * 0.0
                loss = loss + self.gender_weight * ce
                logged.update(gender_ce=ce.item(), gender_acc=(logits.argmax(1) == g).float().mean().item())
        self.ctx.optimize(self.opt, loss)
        return {**logged, "loss": loss.item()}

    @torch.no_grad()
    def samples(self):
        """Rows: high-res, 8x8 input (nearest; degraded with ``degrade``), G(E_l) (no voice), G(z_f) (fused)."""
        x_h = self.fixed["hr"]
        x_in, _ = self.inputs(x_h)
        was = self.E_a.training
        self.E_a.eval()
        z_l = self.E_l(x_in)
        z_f = self.F(z_l, self.E_a(log_spectrogram(self.fixed["audio"])))
        self.E_a.train(was)
        return torch.cat([x_h, upsample_nearest(x_in, x_h.shape[-1]), self.G(z_l), self.G(z_f)]), len(x_h)

    def outputs(self):
        return {self.fusion_key: self.F, "E_a": self.E_a}
