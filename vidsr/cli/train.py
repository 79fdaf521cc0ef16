"""`vidsr train --stage STAGE`: one stage of the paper's training (or all of them in order)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from vidsr.cli import options
from vidsr.models.runs import RUNS


def train(
    stage: str = typer.Option(..., "--stage", help="generator | highres | classifiers | lowres | audio | fusion | fidelity, "
                              "or all (the whole model, in that order); lapsrn for evaluate"),
    data: Optional[Path] = typer.Option(None, "--data", help="A prepared set (vidsr prepare) or, for generator/highres, a folder of face photos."),
    runs: Path = typer.Option(RUNS, "--runs", help="Root folder of the runs: one subfolder per stage."),
    preset: str = typer.Option("cpu", "--preset", help="Network sizes: cpu, paper or tiny (vidsr/models/presets.json)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Iterations (default: the preset's)."),
    batch: Optional[int] = typer.Option(None, "--batch", min=1, help="Batch size per process (default: the preset's)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: the preset's)."),
    layers: int = typer.Option(1, "--layers", help="Fusion stage: 1 (the paper's F) or 3 (F_3)."),
    fixed_audio: bool = typer.Option(False, "--fixed-audio", help="Fusion stage: keep E_a fixed (ablation f)."),
    gender_weight: Optional[float] = typer.Option(
        None, "--gender-weight", help="Audio stage: weight of E_a's voice-gender head (0: eq. 3 alone)."),
    degrade: Optional[bool] = typer.Option(
        None, "--degrade/--clean", help="lowres, fusion: E_l's 8x8 inputs degraded as real tiny faces are, or the paper's clean bicubic D (default: the preset's)."),
    vgg16: Optional[Path] = typer.Option(None, "--vgg16", help="VGG16 weights (safetensors) for the perceptual loss of E_h; default: D features."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use at most this many training images (generator, highres)."),
    init: Optional[Path] = typer.Option(None, "--init", help="Warm-start the stage from this weights file (a model "
                                        "or a stage's weights); fidelity: the model R trains on."),
    set_options: list[str] = typer.Option([], "--set", metavar="KEY=VALUE", help="A stage option of presets.json "
                                          "(repeatable; VALUE as JSON where it parses, else text), e.g. --set pixel_weight=0.5."),
    export: Optional[Path] = typer.Option(None, "--export", help="Then write the model file of the runs folder "
                                          "(as vidsr export; with --stage all: the rebuild in one command)."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the stage's last checkpoint."),
    device: str = typer.Option("auto", "--device", callback=options.device, help="auto, cpu, cuda, cuda:1 ..."),
    precision: str = typer.Option("fp32", "--precision", help="fp32, bf16 or fp16 (autocast)."),
    seed: int = typer.Option(0, "--seed"),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for torch."),
    sample_every: int = typer.Option(500, "--sample-every", min=1, help="Write a sample grid every N steps."),
    checkpoint_every: int = typer.Option(250, "--checkpoint-every", min=1, help="Write a resumable checkpoint every N steps."),
) -> None:
    """Train one stage of the model (or all: the whole model); each stage reads the frozen outputs of
    the stages before it. Rebuild a model from a prepared set: --stage all --export MODEL."""
    import torch

    from vidsr.cli.progress import progress_bars
    from vidsr.train.api import train as run

    if threads:
        torch.set_num_threads(threads)
    given = {"batch": batch, "lr": lr, "limit": limit, "vgg16": vgg16, "gender_weight": gender_weight, "degrade": degrade,
             "init": str(init) if init else None}
    overrides = {**options.key_values(set_options), **{k: v for k, v in given.items() if v is not None}}
    if layers != 1 or fixed_audio:
        overrides.update(layers=layers, finetune_audio=not fixed_audio)
    with progress_bars() as progress:
        written = run(stage, data, runs, preset=preset, steps=steps, resume=resume, device=device, precision=precision,
                      seed=seed, overrides=overrides, sample_every=sample_every, checkpoint_every=checkpoint_every,
                      progress=progress)
    if os.environ.get("RANK", "0") == "0":
        for path in written:
            typer.echo(f"wrote {path}")
        if export is not None:
            from vidsr.cli.export import write_model
            from vidsr.models.runs import VARIANT_NAMES

            trained = [p.parent.name for p in written if p.parent.name in VARIANT_NAMES]
            write_model(runs, export, fusion=trained[-1] if trained else "fusion")
