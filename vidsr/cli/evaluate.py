"""`vidsr evaluate`: the paper's Tables 1 and 2, the audio-swap test and Figs. 3-5; or, with
--footage / --lfw, the real-footage evaluation (vidsr.eval.footage)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from vidsr.cli import options


def _frame_size(text: str) -> tuple[int, int]:
    from vidsr.errors import VidsrError

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise VidsrError(f"--frame must be WIDTHxHEIGHT, e.g. 640x360, got {text!r}") from None
    return w, h


def evaluate(
    data: Optional[Path] = typer.Option(None, "--data", help="A prepared set (vidsr prepare): the paper's tables."),
    weights: Optional[Path] = typer.Option(None, "--weights", help="Model file (default: the shipped model, "
                                                                  "unless --runs is given: then the run's own G and encoders)."),
    runs: Optional[Path] = typer.Option(None, "--runs", help="Training runs folder: E_h, the F_3 and fixed-E_a variants, "
                                                             "the classifiers and the LapSRN baseline."),
    out: Path = typer.Option(Path("eval-report"), "-o", "--out", help="Folder for report.md, report.json and the PNGs."),
    split: str = typer.Option("test", "--split", help="Split to evaluate: test, d1 or d2."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate the first N samples only (quick runs); "
                                                              "with --lfw: the number of LFW test people (default 40)."),
    identity_limit: Optional[int] = typer.Option(None, "--identity-limit",
                                                 help="Run the face embedder (about 0.25 s a face on a CPU core) on a "
                                                      "seeded random N of the samples only."),
    lfw_skip: int = typer.Option(0, "--lfw-skip", min=0,
                                 help="Real footage: leave out the first N LFW test people (e.g. 40: people no model "
                                      "was chosen on; the clips then start at person N + 1)."),
    footage: Optional[List[str]] = typer.Option(None, "--footage",
                                                help="Real footage: a talking-face video, PATH:male or PATH:female "
                                                     "(repeat the option for more), shrunk and run through the pipeline."),
    lfw: Optional[Path] = typer.Option(None, "--lfw", help="Real footage: an LFW folder; its test people's photos are "
                                                          "made into short clips with real voices (needs --voices)."),
    voices: Optional[Path] = typer.Option(None, "--voices", help="Real footage: a speechocean762 folder, the voices of "
                                                                "the photos and of the other gender."),
    face_px: float = typer.Option(10, "--face-px", help="Real footage: the face's width in the shrunk clip."),
    every: int = typer.Option(8, "--every", help="Real footage: judge every k-th frame."),
    seconds: float = typer.Option(3.0, "--seconds", help="Real footage: the clips' length."),
    frame: str = typer.Option("640x360", "--frame", help="Real footage: the clips' frame size, WIDTHxHEIGHT."),
    crop_scale: Optional[float] = typer.Option(None, "--crop-scale",
                                               help="Real footage: the pipeline's face crop, in detector box widths "
                                                    "(default 1.2, the training framing; e.g. 1.7 for a loose one)."),
    back_project: Optional[float] = typer.Option(None, "--back-project", min=0, max=1,
                                                 help="Real footage: the pipeline's --back-project (default: its default)."),
    detail: Optional[float] = typer.Option(None, "--detail", min=0, max=1,
                                           help="Real footage: the pipeline's --detail (default: its default)."),
    frames: Optional[int] = typer.Option(None, "--frames", min=1, help="Real footage: the pipeline's --frames (default: its default)."),
    refine: Optional[int] = typer.Option(None, "--refine", min=0, help="Real footage: the pipeline's --refine (default: its default)."),
    smooth: Optional[float] = typer.Option(None, "--smooth", min=0, help="Real footage: the pipeline's --smooth (default: its default)."),
    own_pixels: Optional[bool] = typer.Option(None, "--own-pixels/--lowres-pixels", help="Real footage: the pipeline's --own-pixels / --lowres-pixels (default: its default)."),
    strips: int = typer.Option(6, "--strips", help="Real footage: PNG strips written (one track each)."),
    keep_clips: bool = typer.Option(False, "--keep-clips", help="Real footage: keep the made clips in OUT/clips."),
    batch: int = typer.Option(32, "--batch", min=1, help="Faces per batch."),
    device: str = typer.Option("auto", "--device", callback=options.device, help="auto, cpu, cuda, cuda:1 ..."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="CPU threads for torch."),
    compare: Optional[List[str]] = typer.Option(None, "--compare", metavar="NAME=REPORT.json[,...]",
                                                help="Compare real-footage reports instead: paired per-clip differences "
                                                     "of the identity distance (repeat; reports joined by commas are pooled)."),
) -> None:
    """Score a model as in the paper: gender/identity accuracy of its faces, PSNR/SSIM against
    bicubic and LapSRN, and how often a voice of the other gender changes the face's gender.

    With --footage and/or --lfw instead: real faces shrunk to --face-px px in a larger frame,
    through the whole pipeline (detection, tracking, crops, the model) with their own voice, no
    voice and a voice of the other gender, judged against the original faces by pretrained
    gender and face-descriptor judges (pip install -e ".[eval]"), beside bicubic.
    """
    if compare:
        from vidsr.eval.compare import compare_table

        typer.echo(compare_table(compare), nl=False)
        return
    import torch

    from vidsr.errors import VidsrError
    from vidsr.weights import default_weights_path, resolve_weights

    if threads:
        torch.set_num_threads(threads)
    if batch < 1:
        raise VidsrError("--batch must be at least 1")
    from vidsr.cli.progress import progress_bars

    if footage or lfw is not None:
        from vidsr.eval.footage import evaluate_footage
        from vidsr.pipeline.drawing import Drawing

        if data is not None:
            raise VidsrError("give either --data (the paper's tables) or --footage / --lfw (real footage), not both")
        with progress_bars() as progress:
            report = evaluate_footage(out, footage=footage or [], lfw=lfw, voices=voices, weights=weights,
                                      face_px=face_px, every=every, limit=40 if limit is None else limit, skip=lfw_skip,
                                      seconds=seconds, frame=_frame_size(frame), crop_scale=crop_scale, strips=strips,
                                      drawing=Drawing.given(back_project=back_project, detail=detail, frames=frames,
                                                            refine=refine, smooth=smooth, own_pixels=own_pixels),
                                      device=device, keep_clips=keep_clips, progress=progress)
        s = report["summary"]["all"]
        typer.echo(f"wrote {Path(out) / 'report.md'} ({s['clips']} clips, {s['frames']} frames judged, "
                   f"{report['seconds']:.0f} s)")
        return
    if data is None:
        raise VidsrError("give --data (a prepared set), or --footage / --lfw for the real-footage evaluation")
    from vidsr.eval.run import evaluate as run
    from vidsr.train.api import check_shards

    check_shards(data)  # a missing set or a corrupt shard: one line, before any work
    # --runs alone evaluates that run: its E_h and encoders were trained against its own G, so
    # the shipped model (another G) must not stand in for runs/generator.
    if weights is not None:
        weights = resolve_weights(weights)
    elif runs is None:
        weights = default_weights_path() if default_weights_path().is_file() else resolve_weights(None)
    with progress_bars() as progress:
        report = run(data, weights, runs, out, split=split, limit=limit, device=device, batch=batch,
                     identity_limit=identity_limit, progress=progress)
    typer.echo(f"wrote {Path(out) / 'report.md'} ({report['samples']} samples, {report['seconds']['total']:.0f} s)")
