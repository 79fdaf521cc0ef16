"""`vidsr evaluate`: the paper's Tables 1 and 2, the audio-swap test and Figs. 3-5."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def evaluate(
    data: Path = typer.Option(..., "--data", help="A prepared set (vidsr prepare)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Model file (default: the shipped model, if any)."),
    runs: Optional[Path] = typer.Option(None, "--runs", help="Training runs folder: E_h, the F_3 and fixed-E_a variants, "
                                                             "the classifiers and the LapSRN baseline."),
    out: Path = typer.Option(Path("eval-report"), "-o", "--out", help="Folder for report.md, report.json and the PNGs."),
    split: str = typer.Option("test", "--split", help="Split to evaluate: test, d1 or d2."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate the first N samples only (quick runs)."),
    identity_limit: Optional[int] = typer.Option(None, "--identity-limit",
                                                 help="Run the face embedder (about 0.25 s a face on a CPU core) on a "
                                                      "seeded random N of the samples only."),
    batch: int = typer.Option(32, "--batch", help="Faces per batch."),
    device: str = typer.Option("auto", "--device", help="auto, cpu, cuda, cuda:1 ..."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU threads for torch."),
) -> None:
    """Score a model as in the paper: gender/identity accuracy of its faces, PSNR/SSIM against
    bicubic and LapSRN, and how often a voice of the other gender changes the face's gender."""
    import torch

    from vidsr.errors import VidsrError
    from vidsr.eval.run import evaluate as run
    from vidsr.weights import default_weights_path, resolve_weights

    if threads:
        torch.set_num_threads(threads)
    if batch < 1:
        raise VidsrError("--batch must be at least 1")
    if weights is not None:
        weights = resolve_weights(weights)
    elif default_weights_path().is_file():
        weights = default_weights_path()
    elif runs is None:
        weights = resolve_weights(None)  # the clear "default model missing" error
    report = run(data, weights, runs, out, split=split, limit=limit, device=device, batch=batch,
                 identity_limit=identity_limit)
    typer.echo(f"wrote {Path(out) / 'report.md'} ({report['samples']} samples, {report['seconds']['total']:.0f} s)")
