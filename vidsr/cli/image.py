"""`vidsr image`: one face picture (or a folder of them) through the model, as the
authors' demo shows it: [high-res | low-res input | E_l only | fused]."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vidsr.cli import options
from vidsr.media.suffixes import IMAGE_SUFFIXES as IMAGE_EXTENSIONS
from vidsr.pipeline.drawing import DEFAULT as DEFAULT_DRAWING


def read_picture(path: Path):
    """An image file as HxWx3 uint8 RGB; VidsrError when it is missing or unreadable."""
    from vidsr.errors import VidsrError
    from vidsr.imaging import read_rgb

    if not path.is_file():
        raise VidsrError(f"no such image: '{path}'")
    rgb = read_rgb(path)
    if rgb is None:
        raise VidsrError(f"cannot read image '{path}' (not a PNG/JPEG/BMP/WebP picture?)")
    return rgb


def image(
    faces: List[Path] = typer.Argument(..., help="Face pictures, or folders of them."),
    audio: Optional[Path] = typer.Option(None, "--audio", help="A voice (sound or video file): its middle 4 s are fused in."),
    out: Optional[Path] = typer.Option(None, "-o", "--out", help="Output PNG for one picture, output folder for several (default: FACE.vidsr.png / vidsr-images)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Model weights (default: the shipped CPU model)."),
    device: str = typer.Option("auto", "--device", callback=options.device, help="auto | cpu | cuda."),
    back_project: float = typer.Option(DEFAULT_DRAWING.back_project, "--back-project", min=0, max=1, metavar="0-1",
                                       show_default=True, help="As vidsr enhance's: how much of the picture's own coarse "
                                                               "shape and colour is put back (0: the model's face as it is)."),
    detail: float = typer.Option(DEFAULT_DRAWING.detail, "--detail", min=0, max=1, metavar="0-1", show_default=True,
                                 help="As vidsr enhance's: the share of the model's fine detail kept (1: all of it)."),
    refine: int = typer.Option(DEFAULT_DRAWING.refine, "--refine", min=0, metavar="STEPS", show_default=True,
                               help="As vidsr enhance's: steps that nudge each face until it matches the picture (0: off)."),
    own_pixels: bool = typer.Option(DEFAULT_DRAWING.own_pixels, "--own-pixels/--lowres-pixels", show_default=True,
                                    help="As vidsr enhance's: take them from every pixel of a tiny face, or from the 8x8 "
                                         "the model reads."),
) -> None:
    """Super-resolve face pictures: a high-res face is first reduced to the model's 8x8 input
    and shown as a strip of high-res, low-res, E_l only and fused (with --audio) tiles; a
    tiny face (under 16 px) is simply enhanced."""
    import torch
    from rich.console import Console

    from vidsr.errors import VidsrError
    from vidsr.files import write_text
    from vidsr.imaging import save_png
    from vidsr.pipeline import enhance_face, expand_inputs, load_model, voice_code

    from vidsr.pipeline.drawing import Drawing

    drawing = Drawing(back_project=back_project, detail=detail, refine=refine, own_pixels=own_pixels)
    files = expand_inputs(faces, IMAGE_EXTENSIONS)
    if not files:
        raise VidsrError("no pictures found in the given inputs")
    single = len(files) == 1 and (out is None or out.suffix.lower() == ".png")
    if single:
        pictures = [(files[0], read_picture(files[0]))]  # a bad picture: one line, exit code 2
    else:  # several: a bad one is reported and the others go on (exit code 1 at the end)
        pictures, failed = [], []
        for f in files:
            try:
                pictures.append((f, read_picture(f)))
            except VidsrError as e:
                failed.append(f)
                typer.echo(f"vidsr: error: {e}", err=True)
        if not pictures:
            raise VidsrError(f"none of the {len(files)} picture(s) could be read")
        files = [f for f, _ in pictures]
    folder = (out.parent if out is not None else Path(".")) if single else (out or Path("vidsr-images"))
    targets = [(out or Path(f"{f.stem}.vidsr.png")) if single else folder / f"{f.stem}.png" for f in files]
    inputs = {f.resolve() for f in files}
    if clash := next((t for t in targets if t.resolve() in inputs), None):
        raise VidsrError(f"the output '{clash}' would overwrite an input picture; choose another --out")
    model = load_model(weights, device)
    with torch.inference_mode():
        voice = voice_code(audio, model) if audio is not None else None
    folder.mkdir(parents=True, exist_ok=True)
    console = Console()
    lines = [f"# vidsr image ({model.preset.resolution} px tiles)", ""]
    for (f, rgb), target in zip(pictures, targets):
        strip, names = enhance_face(rgb, model, voice, drawing)
        save_png(target, strip)
        console.print(f"{target}: {' | '.join(names)}", highlight=False)
        lines.append(f"- `{target.name}` from `{f}`: {' | '.join(names)}")
    voice_line = f"Voice: the middle 4 s of `{audio}`." if audio else "No voice: the fused tile needs --audio."
    lines += ["", voice_line, ""]
    legend = (target.with_suffix(".md") if single else folder / "index.md")
    if not single and failed:
        lines += ["Not readable: " + ", ".join(f"`{f}`" for f in failed), ""]
    write_text(legend, "\n".join(lines))
    if not single and failed:
        typer.echo(f"vidsr: error: {len(failed)} of {len(failed) + len(files)} picture(s) could not be read", err=True)
        raise typer.Exit(1)
