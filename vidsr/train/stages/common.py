"""What the stages share: the frame the loop drives (:class:`Stage`); for the encoder stages
(highres, lowres, audio, fusion) frozen networks read from earlier stages, a streamed batch
iterator over a prepared set, fixed sample batches, the low-res inputs (the paper's clean D,
or degraded as real tiny faces are) and the paper's loss terms."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vidsr.data.images import load_face_images
from vidsr.errors import VidsrError
from vidsr.imaging import downsample
from vidsr.models.build import build_network
from vidsr.models.io import load_networks, read_preset_like
from vidsr.models.runs import TRAINED_IN, weights_file
from vidsr.train.context import TrainContext
from vidsr.train.perceptual import PerceptualLoss, build_perceptual

N_SAMPLES = 8
# The stages whose step is G's convolutions (generator, highres) keep G, D and their image
# batches in NHWC order: the same numbers, and on the CPU oneDNN's depthwise blur and 2x2
# downsampling are several times faster in it (generator step about 25 % faster).
MEMORY_FORMAT = torch.channels_last
DEGRADE_STREAM = 71  # keeps the degradation RNG apart from every other seeded stream
CLEAN_STREAM = 72  # keeps the choice of clean rows (option clean_share) apart from the rest


class Stage:
    """The frame of every stage, as the loop (:mod:`vidsr.train.loop`) drives it: ``ctx`` and
    ``batch_size`` (the option ``batch``), set by ``__init__``; what the checkpoints hold, set
    once by :meth:`trains` (the networks and their optimisers, by name) and returned by
    :meth:`networks` and :meth:`optimizers`; and, for a stage with a batch RNG of its own
    (``self.gen``, a torch.Generator), that RNG's state beside them (:meth:`extra_state`)."""

    name: str
    gen: torch.Generator | None = None

    def __init__(self, ctx: TrainContext):
        self.ctx = ctx
        self.batch_size = int(ctx.options["batch"])

    def trains(self, networks: dict[str, nn.Module], optimizers: dict[str, torch.optim.Optimizer]) -> None:
        self._networks, self._optimizers = dict(networks), dict(optimizers)

    def networks(self) -> dict[str, nn.Module]:
        return dict(self._networks)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return dict(self._optimizers)

    def extra_state(self) -> dict | None:
        return rng_state(self.gen) if self.gen is not None else None

    def load_extra_state(self, extra: dict) -> None:
        if self.gen is not None:
            load_rng_state(self.gen, extra)


def rng_state(gen: torch.Generator) -> dict[str, torch.Tensor]:
    """A batch RNG's state as checkpoints keep it."""
    return {"batch_gen": gen.get_state()}


def load_rng_state(gen: torch.Generator, extra: dict) -> None:
    """Restore :func:`rng_state` (a checkpoint without it leaves ``gen`` as it is)."""
    if "batch_gen" in extra:
        gen.set_state(extra["batch_gen"])


def build(name: str, ctx: TrainContext) -> nn.Module:
    """A new network ``name`` (:func:`vidsr.models.build.build_network`) on the context's device."""
    return build_network(name, ctx.preset).to(ctx.device)


def frozen(ctx: TrainContext, stage: str, names: tuple[str, ...]) -> dict[str, nn.Module]:
    """The networks `names` as written by `stage` (its weights.safetensors), frozen, in eval mode,
    each built with the layout its file records (e.g. E_h with or without residual blocks),
    which must give the codes and faces of the stage's own preset."""
    path = weights_file(ctx.runs, stage)
    if not path.exists():
        raise VidsrError(f"stage '{stage}' has not finished: {path} is missing (train it first)")
    own = read_preset_like(path, ctx.preset)
    nets = {n: build_network(n, own).to(ctx.device) for n in names}
    load_networks(path, nets)
    return {n: m.eval().requires_grad_(False) for n, m in nets.items()}


def trained(ctx: TrainContext, *names: str) -> list[nn.Module]:
    """The networks ``names``, each from the run folder that trains it
    (:data:`vidsr.models.runs.TRAINED_IN`), frozen (:func:`frozen`), loaded in that order."""
    nets: dict[str, nn.Module] = {}
    for stage in dict.fromkeys(TRAINED_IN[n] for n in names):
        nets.update(frozen(ctx, stage, tuple(n for n in names if TRAINED_IN[n] == stage)))
    return [nets[n] for n in names]


class FeatTerm:
    """The stage option ``feat_weight``: + feat_weight * l_feat(x_g, x_h), eq. (1)'s perceptual
    loss on a generated face against the high-res one; at 0 (``loss`` None) it adds nothing."""

    def __init__(self, weight: float, loss: PerceptualLoss | None):
        self.weight, self.loss = weight, loss
        self.recorded = {"feat_weight": weight, "perceptual": loss.kind if loss else None}

    def add(self, loss: torch.Tensor, logged: dict[str, float], x_g: torch.Tensor, x_h: torch.Tensor) -> torch.Tensor:
        if self.loss is None:
            return loss
        l_feat = self.loss(x_g.float(), x_h)
        logged["loss_feat"] = l_feat.item()
        return loss + self.weight * l_feat


def trained_with_feat(ctx: TrainContext, *names: str) -> tuple[list[nn.Module], FeatTerm]:
    """:func:`trained` ``names``, and the stage's :class:`FeatTerm`. D, the perceptual loss's
    fallback features, comes from G's weights file, read once with G (only when the term is on)."""
    weight = float(ctx.options["feat_weight"])
    if weight <= 0:
        return trained(ctx, *names), FeatTerm(weight, None)
    *nets, D = trained(ctx, *names, "D")
    return nets, FeatTerm(weight, build_perceptual(D, ctx.options.get("vgg16")).to(ctx.device))


class Batches:
    """Endless batches from a prepared set (vidsr.data.shards), collated on the device.

    The stream starts at the first :meth:`take` and again at every checkpoint step, each time
    seeded by that step: a run resumed from a checkpoint draws exactly the batches an
    uninterrupted run draws after it (and never replays those it saw before the interruption).
    """

    def __init__(self, ctx: TrainContext, splits, batch: int, with_audio: bool, augment_audio: bool = False,
                 workers: int = 1):
        if ctx.data is None or not (Path(ctx.data) / "meta.json").exists():
            raise VidsrError("this stage needs a prepared set: --data SET (made by vidsr prepare)")
        self.ctx, self.splits, self.batch, self.workers = ctx, splits, batch, workers
        self.with_audio, self.augment_audio = with_audio, augment_audio
        self._it = None

    def _start(self, step: int) -> None:
        from vidsr.data.shards import ShardDataset

        dataset = ShardDataset(self.ctx.data, self.splits, shuffle=True, seed=self.ctx.seed + step,
                               with_audio=self.with_audio, augment_audio=self.augment_audio,
                               hr_size=self.ctx.preset.resolution)
        loader = torch.utils.data.DataLoader(dataset, batch_size=self.batch, num_workers=self.workers,
                                             persistent_workers=self.workers > 0)
        self._it = iter(loader)

    def take(self, step: int) -> dict[str, torch.Tensor]:
        """The batch for `step`."""
        every = self.ctx.checkpoint_every
        if self._it is None or (every and step % every == 0):
            self._start(step)
        return {k: v.to(self.ctx.device) if torch.is_tensor(v) else v for k, v in next(self._it).items()}


class ImageBatches:
    """Random batches, flipped at random, of the faces held in memory (the generator and
    highres stages), in :data:`MEMORY_FORMAT`. Its random state goes into checkpoints, so a
    resumed run draws the same batches as an uninterrupted one."""

    def __init__(self, ctx: TrainContext, batch: int, seed_offset: int = 0):
        self.ctx, self.batch = ctx, batch
        self.images = load_face_images(ctx.data, ctx.preset.resolution, limit=ctx.options.get("limit"))
        self.gen = torch.Generator().manual_seed(ctx.seed * 1000 + ctx.rank + seed_offset)

    def first(self, n: int) -> torch.Tensor:
        return self.images[:n].float().div(127.5).sub(1).to(self.ctx.device)

    def __next__(self) -> torch.Tensor:
        idx = torch.randint(len(self.images), (self.batch,), generator=self.gen)
        x = self.images[idx].float().div_(127.5).sub_(1)
        flip = torch.rand(self.batch, generator=self.gen) < 0.5
        x[flip] = x[flip].flip(-1)
        return x.to(self.ctx.device, memory_format=MEMORY_FORMAT)

    def state(self) -> dict[str, torch.Tensor]:
        return rng_state(self.gen)

    def load_state(self, extra: dict[str, torch.Tensor]) -> None:
        load_rng_state(self.gen, extra)


def fixed_samples(ctx: TrainContext, splits, with_audio: bool, n: int = N_SAMPLES) -> dict[str, torch.Tensor]:
    """The first `n` samples of `splits` (no shuffling, no augmentation): the rows of every sample grid."""
    from vidsr.data.shards import ShardDataset

    ds = ShardDataset(ctx.data, splits, shuffle=False, with_audio=with_audio, hr_size=ctx.preset.resolution, epochs=1)
    items = list(islice(iter(ds), n))
    return {k: torch.stack([torch.as_tensor(it[k]) for it in items]).to(ctx.device) for k in items[0]}


def flip_average(E_h: nn.Module, x_h: torch.Tensor) -> torch.Tensor:
    """z-bar = (E_h(x) + E_h(flip x)) / 2, the pose-free target of eq. (3)."""
    return 0.5 * (E_h(x_h) + E_h(x_h.flip(-1)))


def code_and_sr_loss(z: torch.Tensor, x_g: torch.Tensor, z_target: torch.Tensor, x_l: torch.Tensor,
                     lam: float) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss shape of eq. (2) and eq. (4): |z - z_target|_1 + lam |D o G(z) - x_l|^2, with x_g = G(z)
    (the generated face, bicubic-downsampled, must match the low-res input)."""
    l_code = F.l1_loss(z.float(), z_target)
    l_sr = F.mse_loss(downsample(x_g, x_l.shape[-1]).float(), x_l)
    loss = l_code + lam * l_sr
    return loss, {"loss": loss.item(), "l1_code": l_code.item(), "sr_mse": l_sr.item()}


def warm_start(ctx: TrainContext, nets: dict[str, nn.Module]) -> dict:
    """Stage option ``init``: a weights file (an exported model or a stage's weights) whose
    networks of the same names start the trained ones (a warm start; the shapes must match).
    Off (no ``init``): the networks start from their random initialisation. A network grown
    since (E_h with residual blocks its init lacks) starts as the init's, its new blocks the
    identity. Returns what to record in options.json. A resumed run loads its checkpoint over
    this, as it must."""
    init = ctx.options.get("init")
    if not init:
        return {"init": None}
    load_networks(Path(init), nets, grow=True)
    return {"init": str(init), "init_networks": sorted(nets)}


def adam(params, lr: float) -> torch.optim.Adam:
    """The paper's optimiser for every encoder: Adam with a fixed learning rate."""
    return torch.optim.Adam(params, lr=lr)


def downsample_input(ctx: TrainContext, x_h: torch.Tensor) -> torch.Tensor:
    """The paper's D: the clean l x l input of a high-res batch (l: the preset's lr_size)."""
    return downsample(x_h, ctx.preset.lr_size)


class LowResInputs:
    """E_l's inputs for a stage, by its options ``degrade`` and ``clean_share``: off, the
    paper's clean bicubic D (:func:`downsample_input`); on, degraded as real tiny faces are
    (:mod:`vidsr.data.degrade`), except a share ``clean_share`` of each batch's rows, which
    keep the clean D (so that the model serves the paper's clean inputs and real ones alike).
    Drawn from RNGs seeded by (seed, rank, step), so a resumed run degrades exactly as an
    uninterrupted one. The crop scale is the set's framing (its prepare settings)."""

    def __init__(self, ctx: TrainContext):
        self.ctx = ctx
        self.degrade = bool(ctx.options["degrade"])
        self.clean_share = float(ctx.options["clean_share"]) if self.degrade else 1.0
        if not 0 <= self.clean_share <= 1:
            raise VidsrError(f"the option clean_share must be between 0 and 1, got {self.clean_share:g}")
        self.crop_scale = set_crop_scale(ctx.data)

    def __call__(self, x_h: torch.Tensor, step: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(E_l's input, the clean D(x_h)) for a batch of `step`; `step` None: the fixed
        degradations of the sample grids (every row degraded). The clean D stays the target of
        eq. (2)'s and eq. (4)'s consistency term: the output must match the face, not its degradation."""
        x_l = downsample_input(self.ctx, x_h)
        if not self.degrade:
            return x_l, x_l
        from vidsr.data.degrade import degrade_batch

        tail = [self.ctx.rank] + ([] if step is None else [step + 1])
        x_in = degrade_batch(x_h, self.ctx.preset.lr_size, np.random.default_rng([self.ctx.seed, DEGRADE_STREAM, *tail]),
                             self.crop_scale)
        if step is not None and self.clean_share > 0:
            clean = np.random.default_rng([self.ctx.seed, CLEAN_STREAM, *tail]).random(len(x_h)) < self.clean_share
            x_in[torch.from_numpy(clean)] = x_l[torch.from_numpy(clean)]
        return x_in, x_l

    @property
    def recorded(self) -> dict:
        return {"degrade": self.degrade, "degrade_crop_scale": self.crop_scale if self.degrade else None,
                "clean_share": self.clean_share if self.degrade else None}


def set_crop_scale(data: Path | None) -> float:
    """The framing of a prepared set (its prepare settings' crop scale, in detector-box widths),
    as every stage that degrades its faces cuts them; the training framing for anything else."""
    from vidsr.faces.crop import TRAINING_CROP_SCALE

    return float(_set_settings(data).get("crop_scale") or TRAINING_CROP_SCALE)


def step_rng(ctx: TrainContext, stream: int, step: int) -> np.random.Generator:
    """The RNG of one seeded per-row choice (``stream``) at ``step``: the same on a resumed run."""
    return np.random.default_rng([ctx.seed, stream, ctx.rank, step + 1])


def _set_settings(data: Path | None) -> dict:
    """The prepare settings of a prepared set ({} for anything else)."""
    import json

    meta = Path(data) / "meta.json" if data else None
    if meta is None or not meta.exists():
        return {}
    return json.loads(meta.read_text(encoding="utf-8")).get("summary", {}).get("settings", {})
