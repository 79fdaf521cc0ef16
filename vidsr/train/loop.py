"""The loop every stage shares: run folder, options.json, stats.jsonl, sample grids,
checkpoints that survive a kill, and progress reported to a callback (after NVlabs/stylegan2-ada-pytorch).

A stage is an object (the frame of all of them: :class:`vidsr.train.stages.common.Stage`) with
- ``name``; ``networks()``: every network to checkpoint (name -> module);
- ``optimizers()``: name -> optimiser;
- ``train_step(step) -> dict[str, float]``: one iteration, returning its losses;
- ``samples() -> (images [B,3,H,W], nrow)``: a grid to look at;
- ``outputs()``: the networks later stages read from ``weights.safetensors``;
- ``batch_size``: images per step (for img/s).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from vidsr.errors import VidsrError
from vidsr.files import write_text
from vidsr.imaging import grid, save_png
from vidsr.models.io import save_networks
from vidsr.models.runs import WEIGHTS
from vidsr.train.checkpoint import Checkpointer
from vidsr.train.context import TrainContext
from vidsr.train.recipe import code_version


def _write_options(run_dir: Path, ctx: TrainContext, stage, steps: int, resume: bool) -> None:
    """What the stage resolved, whole: the preset, the stage's options after the overrides, the
    steps, seed, data, device, precision, world size, what the stage records itself
    (``recorded_options``) and the code (vidsr version, git commit). ``vidsr export`` copies it
    into the model's recipe (:mod:`vidsr.train.recipe`)."""
    opts = {
        "stage": stage.name, "preset": ctx.preset.to_dict(), "data": str(ctx.data) if ctx.data else None,
        "steps": steps, "device": str(ctx.device), "precision": ctx.precision, "seed": ctx.seed,
        "world_size": ctx.world_size, "options": ctx.options, **getattr(stage, "recorded_options", {}), **code_version(),
    }
    name = "options.json" if not resume else f"options-resume-{int(time.time())}.json"
    (run_dir / name).write_text(json.dumps(opts, indent=2, default=str))


def _drop_stats_after(stats_file: Path, step: int) -> None:
    """Forget the stats lines of steps after ``step`` (logged after the checkpoint a run is
    resumed from, then killed): the resumed run logs them again."""
    if not stats_file.exists():
        return
    lines = stats_file.read_text(encoding="utf-8").splitlines()
    kept = []
    for line in lines:
        try:
            if json.loads(line)["step"] > step:
                continue
        except (ValueError, KeyError, TypeError):
            continue  # a line torn by the kill
        kept.append(line)
    if kept != lines:
        write_text(stats_file, "".join(f"{line}\n" for line in kept))


def lr_factor(step: int, steps: int, rampdown: float) -> float:
    """The learning rate's multiplier at ``step`` of a run of ``steps``: 1, then down to 0 along
    a half cosine over the last ``rampdown`` share of the steps (0: always 1), as StyleGAN's
    projector ends its optimisation. The ramp is set by the run's ``--steps``: a run resumed
    with the same steps follows it exactly; one extended to more steps ramps down later."""
    start = steps * (1 - rampdown)
    if rampdown <= 0 or step < start:
        return 1.0
    return 0.5 * (1 + math.cos(math.pi * (step - start) / (steps - start)))


def set_learning_rates(optimizers, factor: float) -> None:
    """Every parameter group's lr = its first lr x ``factor`` (the first is kept in the
    group as ``initial_lr``, which checkpoints carry with the optimiser's state)."""
    for opt in optimizers:
        for group in opt.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor


def run_stage(stage, ctx: TrainContext, steps: int, resume: bool = False, log_every: int = 25,
              sample_every: int = 500, checkpoint_every: int = 250, progress=None) -> Path:
    """Train `stage` for `steps` iterations in ``ctx.runs/stage.name``; returns its weights file.

    ``progress(stage name, step, steps, losses)`` after every step (on the main process; the
    losses as text, updated every ``log_every`` steps). The stage option ``lr_rampdown``
    (optional, 0 when absent) ramps every optimiser's learning rate down (:func:`lr_factor`)."""
    run_dir = ctx.stage_dir(stage.name)
    ctx.checkpoint_every = checkpoint_every
    ckpt = Checkpointer(run_dir / "checkpoints", ctx.preset)
    start = 0
    if resume and ckpt.latest_step() is not None:
        start, extra = ckpt.load(stage.networks(), stage.optimizers())
        if hasattr(stage, "load_extra_state"):
            stage.load_extra_state(extra)
    elif not resume and ckpt.latest_step() is not None:
        raise VidsrError(f"{run_dir} already holds a run of stage '{stage.name}': add --resume to go on, or pick another --runs folder")
    if start >= steps:
        if ctx.is_main and not (run_dir / WEIGHTS).exists():
            save_networks(run_dir / WEIGHTS, stage.outputs(), ctx.preset, {"stage": stage.name, "step": start})
        return run_dir / WEIGHTS
    if ctx.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_options(run_dir, ctx, stage, steps, resume)
    stats_file = run_dir / "stats.jsonl"
    if resume and ctx.is_main:
        _drop_stats_after(stats_file, start)

    sums: dict[str, float] = {}
    count, t_log = 0, time.perf_counter()
    report = progress if ctx.is_main else None
    losses_text = ""
    if report:
        report(stage.name, start, steps, losses_text)
    rampdown = float(ctx.options.get("lr_rampdown", 0.0))
    for step in range(start, steps):
        losses = {}
        if rampdown:
            losses["lr_factor"] = lr_factor(step, steps, rampdown)
            set_learning_rates(stage.optimizers().values(), losses["lr_factor"])
        losses |= stage.train_step(step)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v)
        count += 1
        done = step + 1
        if done % log_every == 0 or done == steps:
            elapsed = time.perf_counter() - t_log
            means = {k: v / count for k, v in sums.items()}
            if ctx.is_main:
                record = {"step": done, "time": time.time(), "img_per_s": count * stage.batch_size * ctx.world_size / elapsed, **means}
                with stats_file.open("a") as f:
                    f.write(json.dumps(record) + "\n")
            losses_text = " ".join(f"{k} {v:.3f}" for k, v in means.items())
            sums, count, t_log = {}, 0, time.perf_counter()
        if ctx.is_main and (done % sample_every == 0 or done == steps):
            images, nrow = stage.samples()
            save_png(run_dir / "samples" / f"step-{done:07d}.png", grid(images, nrow))
        if ctx.is_main and (done % checkpoint_every == 0 or done == steps):
            extra = stage.extra_state() if hasattr(stage, "extra_state") else None
            ckpt.save(done, stage.networks(), stage.optimizers(), extra)
        if report:
            report(stage.name, done, steps, losses_text)
    if ctx.is_main:
        save_networks(run_dir / WEIGHTS, stage.outputs(), ctx.preset, {"stage": stage.name, "step": steps})
    return run_dir / WEIGHTS
