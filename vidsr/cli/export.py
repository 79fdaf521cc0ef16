"""`vidsr export`: collect a trained run into one model file (G, E_l, E_a, F)."""

from __future__ import annotations

from pathlib import Path

import typer

from vidsr.models.runs import RUNS, VARIANT_NAMES


def export(
    runs: Path = typer.Option(RUNS, "--runs", help="The training runs folder (one subfolder per stage)."),
    out: Path = typer.Option(..., "-o", "--out", help="The model file to write (safetensors)."),
    fusion: str = typer.Option("fusion", "--fusion", help=f"Which fusion run: {', '.join(VARIANT_NAMES)}."),
    fp16: bool = typer.Option(True, "--fp16/--fp32", help="Store weights in half precision (half the size)."),
    base: Path = typer.Option(None, "--base", help="Take G, E_l, E_a and F from this model file instead of the runs "
                              "(a fidelity run trained on it adds R)."),
) -> None:
    """Write the inference model of a run: G from generator, E_l from lowres, E_a and F from fusion
    (or all four from --base), and R from the fidelity run where there is one. The file's metadata
    keeps the model's recipe: every stage's options, the data set's summary, the commit (vidsr doctor --recipe)."""
    write_model(runs, out, fusion, fp16, base)


def write_model(runs: Path, out: Path, fusion: str = "fusion", fp16: bool = True, base: Path | None = None) -> None:
    """`vidsr export` (and `vidsr train --export`): the model file, and a line saying so."""
    from vidsr.train.export import export as run_export

    path = run_export(runs, out, fusion=fusion, half=fp16, base=base,
                      extra={"runs": runs.name, "fusion_run": fusion, "base": base.name if base else None})
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
