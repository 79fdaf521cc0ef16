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


def enhance(
    inputs: List[Path] = typer.Argument(..., help="Videos, folders of videos, or glob patterns ('clips/*.mp4')."),
    out: Path = typer.Option(Path("enhanced"), "-o", "--out", help="Output folder: one subfolder per video."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Model weights (default: the shipped CPU model)."),
    mode: str = typer.Option("both", "--mode", help="both | overlay (the whole video) | tracks (one video per face)."),
    audio: Optional[Path] = typer.Option(None, "--audio", help="Take the voice from this sound or video file instead (mixing, Fig. 1b)."),
    no_audio: bool = typer.Option(False, "--no-audio", help="Ignore the sound: enhance from the picture alone (E_l only)."),
    voice_to: str = typer.Option("auto", "--voice-to", help="Who hears the video's speech: auto (each stretch of speech to the face whose mouth follows it, or no one) | all (every face hears the 4 s around its frame) | a track id."),
    scale: Optional[float] = typer.Option(None, "--scale", callback=options.above_zero, help="Enlarge the overlay's frames this much (default: so faces show the model's output size, within 1920x1080)."),
    inset: bool = typer.Option(False, "--inset", help="Review mode: draw each enhanced face enlarged beside its box instead of replacing it."),
    compare: bool = typer.Option(False, "--compare", help="Face videos show the low-res input beside the result."),
    face_range: Optional[str] = typer.Option(None, "--face-range", help="Replace faces MIN:MAX px wide (default 1:16, i.e. up to twice the model's 8 px input)."),
    smooth: float = typer.Option(0.4, "--smooth", min=0, help="Seconds over which each face's latent code is averaged (0: off)."),
    back_project: Optional[float] = typer.Option(None, "--back-project", min=0, max=1, help="How much of each face's own low-res input is put back into the output: out + s * up(x_l - D(out)) (default 1: the input's low frequencies put back whole; 0: G's face as it is)."),
    detail: Optional[float] = typer.Option(None, "--detail", min=0, max=1, help="The share of G's own detail kept in each face, beside the input's low frequencies (default 0.4, measured nearer the person on real footage; 1: all of it, sharper, the voice has more say; 0: bicubic from the input; docs/detail)."),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, help="Back-project each face onto the mean of its track's low-res inputs over this many frames around it (odd; default 11; 1: its own)."),
    refine: Optional[int] = typer.Option(None, "--refine", min=0, help="Steps that move each face's latent styles until its downsampled output matches the low-res input, before the back-projection (default 0: off, the encoders' code as it is; each step costs about 4x the generator's pass; docs/refine)."),
    own_pixels: Optional[bool] = typer.Option(None, "--own-pixels/--lowres-pixels", help="Back-project each face onto its own pixels, cut at the face's own size (default), or onto the 8x8 input the model reads (a face wider than 8 px then loses what it shows; docs/own-pixels)."),
    detect_every: int = typer.Option(DETECT_EVERY, "--detect-every", min=1, help="Run the face detector every N frames; follow faces in between."),
    device: str = typer.Option("auto", "--device", callback=options.device, help="auto | cpu | cuda (auto: a GPU if there is one)."),
    half: bool = typer.Option(False, "--half", help="Run the model in bf16/fp16 (faster on GPUs)."),
    batch: int = typer.Option(64, "--batch", min=1, help="Faces per model call."),
    raw_flicker: bool = typer.Option(False, "--raw-flicker", help="Also measure the flicker of G's unsmoothed output for the report (G runs on half as many faces again)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Processes taking the videos one at a time, the threads shared among them (archives; on 2 cores, 2 workers measured 0-14 % faster than 1)."),
    ray: Optional[str] = typer.Option(None, "--ray", metavar="[ADDRESS]", callback=options.ray_address, rich_help_panel="Performance", help="Run the videos on a Ray cluster, one task per video: --ray alone (or local) starts one on this machine; auto: the one `ray start` runs here; HOST:PORT: that one. Inputs and outputs on storage every node sees (pip install \"vidsr\\[ray]\"; docs/cluster.md)."),
) -> None:
    """Recover the tiny faces (about 8-16 px) in videos by fusing the picture with the voice."""
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from vidsr.errors import VidsrError
    from vidsr.media.probe import check_readable
    from vidsr.pipeline import enhance_many
    from vidsr.pipeline.options import parse_voice_to

    voice_to = parse_voice_to(voice_to)
    if audio is not None and no_audio:
        raise VidsrError("--audio and --no-audio contradict each other")
    if audio is not None:
        check_readable(audio)
    err = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        overall = bar.add_task("[bold]videos", total=None)
        current = bar.add_task("", total=None, visible=False)
        name, done = [""], [0]

        def on_file(i: int, n: int, path: Path, result: dict | None) -> None:
            if result is None:
                name[0] = escape(path.name)
                bar.update(overall, total=n, completed=done[0])
                bar.update(current, description=name[0], completed=0, total=None, visible=True)
                return
            done[0] += 1
            bar.update(overall, total=n, completed=done[0])
            if result["status"] == "failed":
                message = result["message"]
                if str(path) not in message:
                    message = f"{path}: {message}"
                bar.console.print(f"vidsr: error: {escape(message)}", highlight=False, soft_wrap=True)
            elif (workers > 1 or ray is not None) and result["status"] != "skipped" and result["message"]:
                warn(f"{path}: {result['message']}")  # a worker's warnings come with its result

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(current, description=f"{stage} {name[0]}", completed=done, total=total)

        def on_cluster(state: dict) -> None:
            bar.update(overall, total=state["total"], completed=state["done"],
                       description=f"[bold]videos[/] running {state['running']}, failed {state['failed']}, "
                                   f"{state['fps']:.1f} frames/s over {state['workers']} worker(s)")

        def warn(message: str) -> None:
            bar.console.print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)

        results = enhance_many(
            inputs, out, on_file=on_file, weights=weights, device=device, face_range=parse_face_range(face_range),
            mode=mode, audio=audio, use_audio=not no_audio, voice_to=voice_to, scale=scale, inset=inset, compare=compare,
            smooth=smooth, detect_every=detect_every, half=half, batch=batch, progress=progress, warn=warn,
            workers=workers, ray=ray, on_cluster=on_cluster, raw_flicker=raw_flicker, **options.given(back_project=back_project, detail=detail, frames=frames, refine=refine, own_pixels=own_pixels),
        )

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
