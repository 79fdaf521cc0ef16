"""`vidsr mix`: the paper's Fig. 5, every face fused with every voice (a wrapper over
:func:`vidsr.pipeline.mix_faces`), as a PNG grid with a Markdown legend."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vidsr.cli import options
from vidsr.media.suffixes import SOUND_SUFFIXES, VIDEO_SUFFIXES


def mix(
    faces: List[Path] = typer.Option(..., "--faces", help="Face pictures, one row each (repeat --faces, or give a folder or A.png,B.png)."),
    voices: List[Path] = typer.Option(..., "--voices", help="Voices: sound or video files, one column each (repeat, folder or comma list)."),
    voice_faces: Optional[List[Path]] = typer.Option(None, "--voice-faces", help="The voices' own faces, drawn above their columns (one per voice)."),
    out: Path = typer.Option(Path("mix.png"), "-o", "--out", help="The grid PNG (a Markdown legend is written beside it)."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Model weights (default: the shipped CPU model)."),
    device: str = typer.Option("auto", "--device", callback=options.device, help="auto | cpu | cuda."),
) -> None:
    """Mix faces with voices (Fig. 5): cell (i, j) = G(E_l(face i) + F(E_l(face i), E_a(voice j)))."""
    import torch

    from vidsr.cli.image import IMAGE_EXTENSIONS, read_picture
    from vidsr.errors import VidsrError
    from vidsr.files import write_text
    from vidsr.imaging import save_png
    from vidsr.pipeline import expand_inputs, load_model, mix_faces, voice_code

    face_files = expand_inputs(faces, IMAGE_EXTENSIONS)
    voice_files = expand_inputs(voices, SOUND_SUFFIXES + VIDEO_SUFFIXES)
    top_files = expand_inputs(voice_faces, IMAGE_EXTENSIONS) if voice_faces else []
    if not face_files or not voice_files:
        raise VidsrError("mix needs at least one face (--faces) and one voice (--voices)")
    if top_files and len(top_files) != len(voice_files):
        raise VidsrError(f"--voice-faces gives {len(top_files)} picture(s) for {len(voice_files)} voice(s)")
    if out.resolve() in {f.resolve() for f in face_files + top_files}:
        raise VidsrError(f"the output '{out}' would overwrite an input picture; choose another -o")
    pictures = [read_picture(f) for f in face_files]
    tops = [read_picture(f) for f in top_files]
    model = load_model(weights, device)
    with torch.inference_mode():
        codes = [voice_code(v, model) for v in voice_files]
        grid = mix_faces(pictures, codes, model, voice_faces=tops or None)
    save_png(out, grid)
    r = model.preset.resolution
    lines = [
        f"# vidsr mix: {len(face_files)} face(s) x {len(voice_files)} voice(s)", "",
        f"`{out.name}`: tiles of {r} x {r} px. Column 1: the face; column 2: its {model.preset.lr_size} x "
        f"{model.preset.lr_size} input (nearest); cell (i, j): G(E_l(x_l,i) + F(E_l(x_l,i), E_a(a_j))), "
        "a_j being the middle 4 s of voice j." + (" Top row: the voices' own faces." if tops else ""), "",
        "| column | voice |" + (" face of the voice |" if tops else ""),
        "|---:|---|" + ("---|" if tops else ""),
    ]
    for j, v in enumerate(voice_files):
        lines.append(f"| {j + 3} | `{v}` |" + (f" `{top_files[j]}` |" if tops else ""))
    lines += ["", "| row | face |", "|---:|---|"]
    for i, f in enumerate(face_files):
        lines.append(f"| {i + 1 + bool(tops)} | `{f}` |")
    write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    typer.echo(f"Wrote {out} ({grid.shape[1]}x{grid.shape[0]}) and {out.with_suffix('.md')}")
