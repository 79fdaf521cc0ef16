"""``vidsr prepare SOURCE -o OUT``: make a training set (face + 4 s of voice per sample)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

KINDS = ("auto", "photos", "voxceleb2", "videos")


def prepare(
    source: Path = typer.Argument(..., help="A folder of face photos (UTKFace), a VoxCeleb2-style ID/VIDEO/CLIP.mp4 tree, or a folder of videos."),
    out: Path = typer.Option(..., "-o", "--out", help="Folder to write the prepared set to (replaced if it holds one)."),
    kind: str = typer.Option("auto", help="photos|voxceleb2|videos|auto"),
    hr_size: int = typer.Option(128, help="Side of the high-resolution faces, in pixels."),
    voices_per_person: int = typer.Option(3, help="Photos: sentences (clips) spoken per person by their made voice."),
    limit: Optional[int] = typer.Option(None, help="Use only this many photos (a seeded random subset) or videos."),
    seed: int = typer.Option(0, help="Seed of the voices and of --limit's subset."),
    every: float = typer.Option(1.0, help="Videos: seconds between the frames kept."),
    workers: int = typer.Option(1, help="Photos: processes speaking in parallel (worth it only with idle cores)."),
    labels: Optional[Path] = typer.Option(None, help="Videos: CSV of identity,gender[,age] (VoxCeleb2's vox2_meta.csv works)."),
) -> None:
    """Prepare a training set: D1 / D2 / test shards of faces with their voices."""
    from vidsr.data.prepare import detect_kind, prepare_photos, prepare_videos
    from vidsr.errors import VidsrError

    if kind not in KINDS:
        raise VidsrError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not source.exists():
        raise VidsrError(f"{source} does not exist")
    if kind == "auto":
        kind = detect_kind(source)
    if kind == "photos":
        prepare_photos(source, out, voices_per_person=voices_per_person, hr_size=hr_size, seed=seed, limit=limit, workers=workers)
    else:
        layout = "voxceleb2" if kind == "voxceleb2" else "folder"
        prepare_videos(source, out, layout=layout, hr_size=hr_size, every=every, seed=seed, limit=limit, labels=labels)
