"""``vidsr prepare SOURCE... -o OUT``: make a training set (face + 4 s of voice per sample)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vidsr.data import HR_SIZE
KINDS = ("auto", "photos", "lfw", "voxceleb2", "videos")
PHOTO_KINDS = ("photos", "lfw")


def prepare(
    sources: List[Path] = typer.Argument(..., metavar="SOURCE", help="Folders of face photos (UTKFace-style, or LFW-style: person folders + labels.csv; several make one set), or one VoxCeleb2-style ID/VIDEO/CLIP.mp4 tree or folder of videos."),
    out: Path = typer.Option(..., "-o", "--out", help="Folder to write the prepared set to (replaced if it holds one)."),
    kind: str = typer.Option("auto", help="photos|lfw|voxceleb2|videos|auto"),
    hr_size: int = typer.Option(HR_SIZE, help="Side of the high-resolution faces, in pixels."),
    voices: str = typer.Option("real", help="Photos: real (speakers of --speech, of the face's gender and age group), made (espeak-ng) or mixed (half each)."),
    speech: Optional[Path] = typer.Option(None, help="Photos, real voices: folder of speakers.csv + SPEAKER.opus (default: speechocean762 beside the first source)."),
    framing: str = typer.Option("tight", help="LFW-style photos: tight (UTKFace's framing, 1.2 detector-box widths), loose (1.7) or a scale in box widths."),
    voices_per_person: int = typer.Option(3, help="Photos: clips per photo (sentences of a made voice, stretches of a real one)."),
    limit: Optional[int] = typer.Option(None, help="Use only this many photos (a seeded random subset) or videos."),
    seed: int = typer.Option(0, help="Seed of the voices and of --limit's subset."),
    every: float = typer.Option(1.0, help="Videos: seconds between the frames kept."),
    workers: int = typer.Option(1, help="Photos: processes reading and speaking in parallel (worth it only with idle cores)."),
    labels: Optional[Path] = typer.Option(None, help="Videos: CSV of identity,gender[,age] (VoxCeleb2's vox2_meta.csv works)."),
) -> None:
    """Prepare a training set: D1 / D2 / test shards of faces with their voices."""
    from vidsr.cli.progress import print_tables, progress_bars
    from vidsr.data.prepare import detect_kind, prepare_photos, prepare_videos, summary_lines, summary_tables
    from vidsr.errors import VidsrError

    if kind not in KINDS:
        raise VidsrError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for source in sources:
        if not source.exists():
            raise VidsrError(f"{source} does not exist")
    kinds = [detect_kind(s) if kind == "auto" else kind for s in sources]
    photos = all(k in PHOTO_KINDS for k in kinds)
    if not photos and len(sources) > 1:
        raise VidsrError("several sources make one set only when all are photo folders; prepare videos one source at a time")
    with progress_bars() as progress:
        if photos:
            summary = prepare_photos(sources, out, voices_per_person=voices_per_person, hr_size=hr_size, seed=seed,
                                     limit=limit, workers=workers, voices=voices, speech=speech, framing=framing,
                                     progress=progress)
        else:
            layout = "voxceleb2" if kinds[0] == "voxceleb2" else "folder"
            summary = prepare_videos(sources[0], out, layout=layout, hr_size=hr_size, every=every, seed=seed,
                                     limit=limit, labels=labels, progress=progress)
    print_tables(f"prepared set {out}", summary_tables(summary),
                 summary_lines(summary) + [f"wall time {summary.get('seconds', 0):.0f} s"])
