"""`vidsr doctor`: what vidsr will run on."""

from __future__ import annotations

import typer


def doctor() -> None:
    """Print versions, the compute device, the ffmpeg binary and the status of the shipped weights."""
    from rich.console import Console
    from rich.table import Table

    from vidsr import __version__

    table = Table(title=f"vidsr {__version__}", show_header=False)
    import torch

    table.add_row("torch", torch.__version__)
    table.add_row("device", f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)")
    try:
        from vidsr.media import ffmpeg_exe

        table.add_row("ffmpeg", ffmpeg_exe())
    except Exception as e:  # doctor reports, it does not fail
        table.add_row("ffmpeg", f"[red]missing: {e}[/]")
    try:
        import os

        import facenet_pytorch

        data = os.path.join(os.path.dirname(facenet_pytorch.__file__), "data")
        ok = all(os.path.exists(os.path.join(data, f"{n}.pt")) for n in ("pnet", "rnet", "onet"))
        table.add_row("MTCNN weights", f"{'ok' if ok else '[red]missing[/]'} ({data})")
    except ImportError as e:
        table.add_row("MTCNN weights", f"[red]facenet-pytorch missing: {e}[/]")
    try:
        from vidsr.weights import default_weights_status

        table.add_row("default weights", default_weights_status())
    except ImportError:
        table.add_row("default weights", "[yellow]not shipped yet[/]")
    Console().print(table)
