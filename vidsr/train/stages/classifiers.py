"""The evaluation classifiers of paper section 4.3, trained by vidsr: C_g and (where the data
allows) C_i, on the high-res training faces d1 + d2 (C_g at the option ``size``, 32 px by
default; C_i at the preset's resolution).

    min  CE(C_g(aug(x^h)), gender)   [+ CE(C_i(aug(x^h)), identity)]

aug = random flips, colour jitter and small shifts (:func:`augment`).

C_i needs the test identities to occur in training, in other videos than the test ones,
as in the paper's VoxCeleb2 split (same speakers, different videos). A set where every
identity is a single video (UTKFace: one photo per person, with several made voices) or
whose test identities are new people gets no C_i; ``classifiers.json`` in the run folder
says why, and holds the held-out (test split) accuracy of what was trained.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from itertools import islice

import torch
import torch.nn.functional as F

from vidsr.data.shards import ShardDataset, iter_shard_tensors
from vidsr.models.classifiers import FaceClassifier
from vidsr.files import write_text
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, Stage, adam

TRAIN_SPLITS = ["d1", "d2"]


def augment(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Training augmentation of faces in [-1, 1]: random horizontal flips, colour jitter
    (brightness, contrast, saturation +-20 %) and shifts of up to 1/16 of the side."""
    b, _, h, w = x.shape
    dev = x.device

    def rand(*shape):
        return torch.rand(*shape, generator=generator).to(dev)

    flip = rand(b) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(-1), x)
    img = (x + 1) / 2
    img = img * (0.8 + 0.4 * rand(b, 1, 1, 1))
    mean = img.mean((1, 2, 3), keepdim=True)
    img = (img - mean) * (0.8 + 0.4 * rand(b, 1, 1, 1)) + mean
    grey = img.mean(1, keepdim=True)
    img = (img - grey) * (0.8 + 0.4 * rand(b, 1, 1, 1)) + grey
    pad = max(1, h // 16)
    padded = F.pad(img, (pad, pad, pad, pad), mode="replicate")
    dx, dy = (rand(2) * (2 * pad + 1)).long().tolist()
    img = padded[:, :, dy:dy + h, dx:dx + w]
    return img.clamp(0, 1) * 2 - 1


def identity_classes(data) -> tuple[list[int], str]:
    """(identity indices C_i should learn, "") or ([], the reason it cannot be trained)."""
    videos: dict[int, set[int]] = defaultdict(set)
    train_ids: set[int] = set()
    test_ids: set[int] = set()
    for split, ids in ((TRAIN_SPLITS, train_ids), ("test", test_ids)):
        for t in iter_shard_tensors(data, split, keys=("identity", "video")):
            for i, v in zip(t["identity"].tolist(), t["video"].tolist()):
                ids.add(i)
                videos[i].add(v)
    shared = sorted(train_ids & test_ids)
    reasons = []
    if statistics.median(len(v) for v in videos.values()) < 2:
        reasons.append("every identity is a single video (for a photo set: one photo with several voice clips), "
                       "so C_i would recognise the picture, not the person")
    if len(shared) < 2:
        reasons.append("the test identities do not occur in d1+d2, so a classifier trained on d1+d2 cannot name them "
                       "(the paper's test set holds the training speakers, in other videos)")
    elif statistics.median(len(videos[i]) for i in shared) < 2 and not reasons:
        reasons.append("the identities shared by training and test are single videos")
    return ([], "; and ".join(reasons)) if reasons else (shared, "")


class ClassifiersStage(Stage):
    name = "classifiers"

    def __init__(self, ctx: TrainContext):
        super().__init__(ctx)
        o = ctx.options
        size = min(int(o["size"]), ctx.preset.resolution)
        self.C_g = FaceClassifier(size, 2, int(o["width"])).to(ctx.device)
        nets = {"C_g": self.C_g}
        classes, self.no_identity_reason = identity_classes(ctx.data)
        self.C_i = None
        if classes:
            self.C_i = FaceClassifier(ctx.preset.resolution, len(classes), int(o["identity_width"])).to(ctx.device)
            self.C_i.classes.copy_(torch.tensor(classes))
            nets["C_i"] = self.C_i
            lookup = torch.full((max(classes) + 1,), -1, dtype=torch.long)
            lookup[torch.tensor(classes)] = torch.arange(len(classes))
            self.lookup = lookup.to(ctx.device)
        self.nets = nets
        ctx.replicate(*nets.values())
        self.opts = {n: adam(m.parameters(), float(o["lr"])) for n, m in nets.items()}
        self.trains(nets, self.opts)
        self.gen = torch.Generator().manual_seed(ctx.seed * 1000 + ctx.rank + 7)
        ds = ShardDataset(ctx.data, TRAIN_SPLITS, shuffle=False, with_audio=False, hr_size=ctx.preset.resolution, epochs=1)
        self.fixed = torch.stack([s["hr"] for s in islice(iter(ds), 8)]).to(ctx.device)
        self.data = Batches(ctx, TRAIN_SPLITS, self.batch_size, with_audio=False)
        self.recorded_options = {"identity_classes": len(classes), "no_identity_reason": self.no_identity_reason}

    def _targets(self, identity: torch.Tensor) -> torch.Tensor:
        """C_i's class of each identity index, -1 for identities it does not learn."""
        target = torch.full_like(identity, -1)
        inside = (identity >= 0) & (identity < len(self.lookup))
        target[inside] = self.lookup[identity[inside]]
        return target

    def train_step(self, step: int) -> dict[str, float]:
        batch = self.data.take(step)
        x = augment(batch["hr"], self.gen)
        gender = torch.as_tensor(batch["gender"], device=x.device)
        known = gender >= 0
        out = {}
        with self.ctx.autocast():
            logits = self.C_g(x[known]).float()
            loss = F.cross_entropy(logits, gender[known])
        self.ctx.optimize(self.opts["C_g"], loss)
        out.update(loss_g=loss.item(), acc_g=(logits.argmax(1) == gender[known]).float().mean().item())
        if self.C_i is not None:
            target = self._targets(torch.as_tensor(batch["identity"], device=x.device))
            keep = target >= 0
            if keep.sum() >= 2:
                with self.ctx.autocast():
                    logits_i = self.C_i(x[keep]).float()
                    loss_i = F.cross_entropy(logits_i, target[keep])
                self.ctx.optimize(self.opts["C_i"], loss_i)
                out.update(loss_i=loss_i.item(), acc_i=(logits_i.argmax(1) == target[keep]).float().mean().item())
        return out

    @torch.no_grad()
    def samples(self):
        """Rows: training faces, and the same faces as augmented for training."""
        return torch.cat([self.fixed, augment(self.fixed, torch.Generator().manual_seed(0))]), len(self.fixed)

    @torch.no_grad()
    def heldout(self) -> dict:
        """Accuracy on the test split (faces the classifiers never saw)."""
        counts = {"C_g": [0, 0], "C_i": [0, 0]}
        ds = ShardDataset(self.ctx.data, "test", shuffle=False, with_audio=False, hr_size=self.ctx.preset.resolution, epochs=1)
        loader = torch.utils.data.DataLoader(ds, batch_size=128, num_workers=0)
        for net in self.nets.values():
            net.eval()
        for batch in loader:
            x = batch["hr"].to(self.ctx.device)
            g = batch["gender"].to(self.ctx.device)
            known = g >= 0
            counts["C_g"][0] += int((self.C_g(x[known]).argmax(1) == g[known]).sum())
            counts["C_g"][1] += int(known.sum())
            if self.C_i is not None:
                target = self._targets(batch["identity"].to(self.ctx.device))
                keep = target >= 0
                counts["C_i"][0] += int((self.C_i(x[keep]).argmax(1) == target[keep]).sum())
                counts["C_i"][1] += int(keep.sum())
        for net in self.nets.values():
            net.train()
        report = {"split": "test"}
        for name, (right, n) in counts.items():
            if name == "C_i" and self.C_i is None:
                report[name] = {"trained": False, "reason": self.no_identity_reason}
            else:
                report[name] = {"trained": True, "accuracy": right / n if n else None, "samples": n}
        return report

    def outputs(self):
        if self.ctx.is_main:
            report = self.heldout()
            path = self.ctx.stage_dir(self.name) / "classifiers.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, json.dumps(report, indent=2))
        return dict(self.nets)
