"""`vidsr doctor`: what vidsr will run on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

# The runtime dependencies whose versions are shown (pyproject.toml's list).
PACKAGES = ("torch", "torchvision", "facenet-pytorch", "numpy", "opencv-python-headless", "ffmpeg-python",
            "imageio-ffmpeg", "soundfile", "scipy", "safetensors", "typer", "rich", "pillow")


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "[red]not installed[/]"


def _ffmpeg_row() -> str:
    import subprocess

    from vidsr.media import ffmpeg_exe

    exe = ffmpeg_exe()
    source = "$VIDSR_FFMPEG" if os.environ.get("VIDSR_FFMPEG") else "bundled with imageio-ffmpeg"
    try:
        out = subprocess.run([exe, "-hide_banner", "-version"], capture_output=True, text=True, timeout=30).stdout
    except OSError as e:
        return f"[red]cannot run {exe}: {e.strerror or e}[/]"
    first = (out.splitlines() or ["?"])[0].replace("ffmpeg version ", "")
    return f"{exe} ({source}; version {first.split(' ')[0]})"


def _model_recipe(weights: Path | None) -> dict | None:
    """The recipe in the metadata of ``weights`` (default: the default model); None for a
    model made before recipes were saved. A missing or broken file: WeightsError (one line)."""
    from vidsr.models.io import read_metadata
    from vidsr.weights import resolve_weights

    return read_metadata(resolve_weights(weights)).get("recipe")


def doctor(
    weights: Optional[Path] = typer.Option(None, "--weights", help="The model whose recipe is shown (default: the default model)."),
    recipe: bool = typer.Option(False, "--recipe", help="Print the model's recipe whole (JSON: every stage's options, "
                                "the data set's summary, the commit) and nothing else."),
) -> None:
    """Print versions, the compute device, the ffmpeg binary, where the default weights are and
    how the model was made (its recipe, in brief; --recipe: whole)."""
    import json
    import shutil
    import sys

    from vidsr.train.recipe import NOT_RECORDED, recipe_rows

    if recipe:
        record = _model_recipe(weights)
        typer.echo(json.dumps(record, indent=1) if record else f"recipe: {NOT_RECORDED}")
        return

    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from vidsr import __version__

    table = Table(title=f"vidsr {__version__}", show_header=False)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    import torch

    table.add_row("device", f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)")
    try:
        table.add_row("ffmpeg", _ffmpeg_row())
    except Exception as e:  # doctor reports, it does not fail
        table.add_row("ffmpeg", f"[red]missing: {e}[/]")
    try:
        import facenet_pytorch

        data = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
        ok = all(os.path.exists(os.path.join(data, f"{n}.pt")) for n in ("pnet", "rnet", "onet"))
        table.add_row("MTCNN weights", f"{'ok' if ok else '[red]missing[/]'} ({data})")
    except ImportError as e:
        table.add_row("MTCNN weights", f"[red]facenet-pytorch missing: {e}[/]")
    from vidsr.weights import default_weights_status

    ok, status = default_weights_status()
    table.add_row("default weights", status if ok else f"[red]{escape(status)}[/]")
    if ok or weights is not None:
        try:
            rows = recipe_rows(_model_recipe(weights))
        except Exception as e:  # doctor reports, it does not fail
            rows = [("recipe", f"[red]{escape(str(e))}[/]")]
        if weights is not None:
            rows.insert(0, ("model", str(weights)))
        for label, text in rows:
            table.add_row(label, escape(text))
    espeak = shutil.which("espeak-ng")
    table.add_row("espeak-ng", espeak or "not installed (only `vidsr prepare` of photos needs it: apt-get install espeak-ng)")
    table.add_row("python", f"{sys.version.split()[0]} ({sys.executable})")
    for name in PACKAGES:
        table.add_row(name, _version(name))
    # Piped or redirected: one row per line, paths unbroken (a terminal folds them to fit).
    Console(width=None if sys.stdout.isatty() else 500).print(table)
