"""`vidsr detect`: find and follow the faces in a video, print them, optionally save JSON.

Heavy imports (torch, facenet-pytorch) happen inside the command, so ``vidsr --version``
and ``vidsr --help`` stay fast.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from vidsr.faces import DETECT_EVERY
from vidsr.files import write_json


def detect(
    video: Path = typer.Argument(..., help="The video to search for faces."),
    json_out: Optional[Path] = typer.Option(
        None, "--json", help="Also write the tracks (frames, boxes, sizes) to this JSON file."
    ),
    detect_every: int = typer.Option(
        DETECT_EVERY, "--detect-every", min=1, help="Run the detector every N frames; follow the faces in between."
    ),
    min_face: int = typer.Option(
        8, "--min-face", min=4, help="Smallest face to find, in pixels (smaller is slower)."
    ),
    device: str = typer.Option("cpu", "--device", help="Where to run the detector: cpu or cuda."),
) -> None:
    """Find and follow the faces in VIDEO, down to about 8 px wide."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.table import Table

    from vidsr.errors import VidsrError
    from vidsr.faces import TinyFaceDetector, track_video
    from vidsr.media import probe

    if json_out is not None:
        folder = json_out.parent if str(json_out.parent) else Path(".")
        if not folder.is_dir():
            raise VidsrError(f"cannot write '{json_out}': folder '{folder}' does not exist")

    info = probe(video)  # MediaError (one line) for anything that is not a video
    detector = TinyFaceDetector(device=device, min_face=min_face)

    err = Console(stderr=True)
    with Progress(
        TextColumn("[bold]detecting faces"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("frames", total=info.num_frames or None)

        def progress(done: int, expected: int) -> None:
            bar.update(task, completed=done, total=expected)

        tracks = track_video(video, detect_every=detect_every, detector=detector, progress=progress)

    out = Console()
    if not tracks:
        out.print(f"No faces found in {video} (none of at least {min_face} px).")
    else:
        table = Table(title=f"{len(tracks)} face track(s) in {video}")
        table.add_column("id", justify="right")
        table.add_column("frames", justify="right")
        table.add_column("covered", justify="right")
        table.add_column("detections", justify="right")
        table.add_column("mean face width (px)", justify="right")
        for t in tracks:
            table.add_row(
                str(t.id),
                f"{t.first}-{t.last}",
                str(len(t.frames)),
                str(t.num_detections),
                f"{t.mean_size:.1f}",
            )
        out.print(table)

    if json_out is not None:
        data = {
            "video": asdict(info),
            "detect_every": detect_every,
            "min_face": min_face,
            "box_format": "xyxy, pixels of the original frame",
            "tracks": [t.to_dict() for t in tracks],
        }
        write_json(json_out, data)
        out.print(f"Wrote {json_out}")
