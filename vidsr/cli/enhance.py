"""`vidsr enhance`: super-resolve the tiny faces of videos (a thin wrapper over
:func:`vidsr.pipeline.enhance_many`), with progress bars and a summary table."""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional

import typer

from vidsr.cli import options
from vidsr.faces import DETECT_EVERY
from vidsr.files import write_text
from vidsr.pipeline.constants import BATCH
from vidsr.pipeline.drawing import DEFAULT as DEFAULT_DRAWING


def parse_face_range(text: str | None) -> tuple[float, float] | None:
    """"MIN:MAX" (either side may be left out: "8:", ":24") -> (min, max) in pixels."""
    from vidsr.errors import VidsrError

    if text is None:
        return None
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        lo = float(parts[0]) if parts[0].strip() else 1.0
        hi = float(parts[1]) if parts[1].strip() else math.inf
    except ValueError:
        raise VidsrError(f"--face-range must be MIN:MAX in pixels (e.g. 8:16), got {text!r}") from None
    return lo, hi


def faces_cell(faces: list[dict] | None) -> str:
    """The faces of one file for summary.md: "track 0 [x0, y0, x1, y1]: voice 70/75 frames,
    speech 0.96-2.17 s"; several joined by "<br>"."""
    cells = []
    for f in faces or []:
        box = ", ".join(f"{v:.0f}" for v in f.get("box") or [])
        voice = "" if f.get("voice_frames") is None else f": voice {f['voice_frames']}/{f['frames']} frames"
        speech = f.get("speech")
        if speech:
            voice += ", speech " + " ".join(f"{s:.2f}-{e:.2f}" for s, e in speech) + " s"
        cells.append(f"track {f['id']} [{box}]{voice}")
    return "<br>".join(cells)


def summary_markdown(results: list[dict], out: Path) -> str:
    """The summary table as Markdown."""
    lines = [f"# vidsr enhance: {len(results)} file(s) into {out}", "",
             "| file | tracks | frames | status | seconds | faces | note |", "|---|---:|---:|---|---:|---|---|"]
    for r in results:
        note = r["message"].replace("|", "\\|")
        lines.append(f"| {r['input']} | {'' if r['tracks'] is None else r['tracks']} | "
                     f"{'' if r['frames'] is None else r['frames']} | {r['status']} | {r['seconds']:.1f} | "
                     f"{faces_cell(r.get('faces'))} | {note} |")
    return "\n".join(lines) + "\n"


def write_summary(out: Path, results: list[dict]) -> list[dict]:
    """``out/summary.md`` and its rows as ``out/summary.json``: every file enhanced into
    ``out``, by this run and earlier or concurrent ones (merged by input, this run's rows
    replacing older ones, except a file another run was busy with). Written under the
    folder's lock, so two runs finishing at once both keep their rows. Returns the rows."""
    import json

    from vidsr.files import folder_lock, write_json

    with folder_lock(out, wait=True):
        rows: dict[str, dict] = {}
        try:
            rows = {r["input"]: r for r in json.loads((out / "summary.json").read_text(encoding="utf-8"))["files"]}
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none yet (or not ours): start afresh
        for r in results:
            if not (r.get("busy") and r["input"] in rows):
                rows[r["input"]] = r
        merged = list(rows.values())
        write_json(out / "summary.json", {"files": merged})
        write_text(out / "summary.md", summary_markdown(merged, out))
    return merged


OUTPUT, VOICE, FACES, DRAWING, MODEL, SPEED = ("Output", "Voice", "Which faces", "How faces are drawn", "Model",
                                               "Performance")
D = DEFAULT_DRAWING


def enhance(
    inputs: List[Path] = typer.Argument(..., help="Videos, folders of videos, or glob patterns ('clips/*.mp4')."),
    out: Path = typer.Option(Path("enhanced"), "-o", "--out", metavar="FOLDER", rich_help_panel=OUTPUT, show_default=True,
                             help="Output folder: one subfolder per video."),
    mode: str = typer.Option("both", "--mode", metavar="MODE", rich_help_panel=OUTPUT, show_default=True,
                             help="both | overlay (the whole video) | tracks (one video per face)."),
    scale: Optional[float] = typer.Option(None, "--scale", metavar="FACTOR", callback=options.above_zero, rich_help_panel=OUTPUT,
                                          show_default="faces at the model's 64 px, within 1920x1080",
                                          help="Enlarge the whole video's frames this much."),
    inset: bool = typer.Option(False, "--inset/--replace", rich_help_panel=OUTPUT, show_default=True,
                               help="Draw each recovered face enlarged beside its box (to review), or replace the face."),
    compare: bool = typer.Option(False, "--compare/--no-compare", rich_help_panel=OUTPUT, show_default=True,
                                 help="Show the tiny input beside the result in each face's video."),
    raw_flicker: bool = typer.Option(False, "--raw-flicker/--no-raw-flicker", rich_help_panel=OUTPUT, show_default=True,
                                     help="Also measure, for the report, how much the faces would flicker without the "
                                          "smoothing (costs half as much model time again)."),
    audio: Optional[Path] = typer.Option(None, "--audio", metavar="FILE", rich_help_panel=VOICE, show_default="the video's own sound",
                                         help="Take the voice from this sound or video file instead, for every face."),
    no_audio: bool = typer.Option(False, "--no-audio/--with-audio", rich_help_panel=VOICE, show_default=True,
                                  help="Ignore the sound: recover faces from the picture alone."),
    voice_to: str = typer.Option("auto", "--voice-to", metavar="WHO", rich_help_panel=VOICE, show_default=True,
                                 help="Who hears the speech: auto (each stretch of speech goes to the face whose mouth "
                                      "moves with it, or to no one) | all (every face hears the 4 s around it) | a track id."),
    face_range: Optional[str] = typer.Option(None, "--face-range", metavar="MIN:MAX", rich_help_panel=FACES,
                                             show_default="1:16",
                                             help="Replace the faces this many pixels wide: by default every face found "
                                                  "(the detector looks from 8 px) up to twice the model's 8 px input. "
                                                  "A MIN of 4-7 also makes it look for faces that small (slower)."),
    detect_every: int = typer.Option(DETECT_EVERY, "--detect-every", min=1, metavar="N", rich_help_panel=FACES, show_default=True,
                                     help="Look for new faces every N frames; follow the known ones in between."),
    smooth: float = typer.Option(D.smooth, "--smooth", min=0, metavar="SECONDS", rich_help_panel=DRAWING, show_default=True,
                                 help="Seconds over which each face is averaged along its track, against flicker (0: off)."),
    back_project: float = typer.Option(D.back_project, "--back-project", min=0, max=1, metavar="0-1", rich_help_panel=DRAWING,
                                       show_default=True,
                                       help="How much of the footage's own coarse shape and colour is put back into "
                                            "each face (1: all of it; 0: the model's face as it is)."),
    detail: float = typer.Option(D.detail, "--detail", min=0, max=1, metavar="0-1", rich_help_panel=DRAWING, show_default=True,
                                 help="The share of the model's fine detail kept (1: all, sharper, the voice has more "
                                      "say; 0: a plain zoom of the footage)."),
    frames: int = typer.Option(D.frames, "--frames", min=1, metavar="ODD", rich_help_panel=DRAWING, show_default=True,
                               help="Take that shape and colour from this many frames around each face (odd; 1: its own)."),
    own_pixels: bool = typer.Option(D.own_pixels, "--own-pixels/--lowres-pixels", rich_help_panel=DRAWING,
                                    show_default=True,
                                    help="Take them from every pixel the footage has of the face, or from the 8x8 the "
                                         "model reads."),
    refine: int = typer.Option(D.refine, "--refine", min=0, metavar="STEPS", rich_help_panel=DRAWING, show_default=True,
                               help="Steps that nudge each face until it matches the footage when shrunk "
                                    "(0: off; each step costs about 4x the drawing)."),
    weights: Optional[Path] = typer.Option(None, "--weights", metavar="FILE", rich_help_panel=MODEL, show_default="the shipped model",
                                           help="The model file."),
    device: str = typer.Option("auto", "--device", metavar="DEVICE", callback=options.device, rich_help_panel=MODEL, show_default=True,
                               help="auto (a GPU if there is one) | cpu | cuda."),
    half: bool = typer.Option(False, "--half/--full", rich_help_panel=MODEL, show_default=True,
                              help="Run the model in half precision (faster on GPUs)."),
    batch: int = typer.Option(BATCH, "--batch", min=1, metavar="FACES", rich_help_panel=SPEED, show_default=True,
                              help="Faces per model call."),
    workers: int = typer.Option(1, "--workers", min=1, metavar="N", rich_help_panel=SPEED, show_default=True,
                                help="Processes that take the videos one at a time, sharing the CPU threads "
                                     "(for archives on machines with many cores)."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", callback=options.ray_address, rich_help_panel=SPEED,
                                      show_default="off: this machine alone",
                                      help="Run the videos on a Ray cluster, one task per video: --ray alone (or local) "
                                           "starts one on this machine; auto: the one `ray start` runs here; HOST:PORT: "
                                           "that one. Inputs and outputs on storage every node sees "
                                           "(pip install \"vidsr\\[ray]\"; docs/cluster.md)."),
) -> None:
    """Recover the tiny faces (about 8-16 px) in videos by fusing the picture with the voice."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from vidsr.cli.progress import VideoBars
    from vidsr.errors import VidsrError
    from vidsr.media.probe import check_readable
    from vidsr.pipeline import enhance_many
    from vidsr.pipeline.drawing import Drawing
    from vidsr.pipeline.options import parse_voice_to

    voice_to = parse_voice_to(voice_to)
    drawing = Drawing(smooth=smooth, refine=refine, back_project=back_project, detail=detail, frames=frames,
                      own_pixels=own_pixels)
    if audio is not None and no_audio:
        raise VidsrError("--audio and --no-audio contradict each other")
    if audio is not None:
        check_readable(audio)
    err = Console(stderr=True)
    bars = VideoBars(err)
    try:
        def on_file(i: int, n: int, path: Path, result: dict | None) -> None:
            if result is None:
                bars.file_started(i, n, escape(path.name))
                return
            bars.file_done(n)
            if result["status"] == "failed":
                message = result["message"]
                if str(path) not in message:
                    message = f"{path}: {message}"
                bars.print(f"vidsr: error: {escape(message)}")
            elif (workers > 1 or ray is not None) and result["status"] != "skipped" and result["message"]:
                warn(f"{path}: {result['message']}")  # a worker's warnings come with its result

        def warn(message: str) -> None:
            bars.print(f"[yellow]warning:[/] {escape(message)}")

        results = enhance_many(
            inputs, out, on_file=on_file, weights=weights, device=device, face_range=parse_face_range(face_range),
            mode=mode, audio=audio, use_audio=not no_audio, voice_to=voice_to, scale=scale, inset=inset, compare=compare,
            drawing=drawing, detect_every=detect_every, half=half, batch=batch, progress=bars.progress, warn=warn,
            workers=workers, ray=ray, on_cluster=bars.cluster, raw_flicker=raw_flicker,
        )
    finally:
        bars.stop()

    table = Table(title=f"vidsr enhance -> {out}")
    for name, justify in (("file", "left"), ("tracks", "right"), ("frames", "right"), ("status", "left"), ("seconds", "right")):
        table.add_column(name, justify=justify)
    colours = {"ok": "green", "no faces": "yellow", "skipped": "cyan", "failed": "red"}
    for r in results:
        table.add_row(escape(r["input"]), "" if r["tracks"] is None else str(r["tracks"]),
                      "" if r["frames"] is None else str(r["frames"]),
                      f"[{colours[r['status']]}]{r['status']}[/]", f"{r['seconds']:.1f}")
    Console().print(table)
    write_summary(out, results)
    failed = sum(r["status"] == "failed" for r in results)
    if failed:
        err.print(f"vidsr: error: {failed} of {len(results)} file(s) failed (see {out / 'summary.md'})",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(1)
