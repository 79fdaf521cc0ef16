"""One video through the model: :func:`enhance_video`, what `vidsr enhance` runs per file.

The two passes of Fig. 1 over a video, each part in its own module: pass 1 finds and
follows the faces (:func:`find_tracks`); :mod:`~vidsr.pipeline.selection` picks the
tracks to replace and the overlay's size; :mod:`~vidsr.pipeline.voice` decides whose
voice each face hears; pass 2 crops x_l (:func:`face_crops`), runs the model in batches
(:class:`~vidsr.pipeline.batcher.Batcher`), writes the videos
(:class:`~vidsr.pipeline.render.Renderer`), and :mod:`~vidsr.pipeline.report` says what
was done.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Callable, Iterator

from vidsr.devices import half_autocast
from vidsr.errors import MediaError, VidsrError
from vidsr.faces import DETECT_EVERY
from vidsr.pipeline.batcher import Batcher
from vidsr.pipeline.constants import BATCH, BUFFER_BYTES, MAX_ENCODE, MAX_OUTPUT
from vidsr.pipeline.drawing import DEFAULT, Drawing
from vidsr.pipeline.model import load_model, make_detector, model_device
from vidsr.pipeline.options import check_options, parse_voice_to
from vidsr.pipeline.outputs import Outputs
from vidsr.pipeline.render import Renderer
from vidsr.pipeline.report import run_settings, video_report
from vidsr.pipeline.selection import frame_size, select_tracks
from vidsr.pipeline.timing import Clock, TimedDetector
from vidsr.pipeline.tracks import Face, Flicker, own_side
from vidsr.pipeline.voice import open_voice, whose_voice

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage "tracking" (pass 1) or "enhancing" (pass 2),
counted in frames; ``total`` is an estimate."""


def warn_stderr(message: str) -> None:
    """The default ``warn``: "warning: MESSAGE" on stderr."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


def enhance_video(path: str | os.PathLike, outdir: str | os.PathLike, **options) -> dict:
    """:func:`enhance_into` while holding ``outdir``'s lock (:func:`vidsr.files.folder_lock`):
    a second run into the same folder at the same time fails at once with "already being
    written", and the temporaries of a killed run are swept first. The options are checked
    first (:func:`vidsr.pipeline.options.check_options`), so a bad one writes nothing."""
    check_options(**options)
    return enhance_checked(path, outdir, **options)


def enhance_checked(path: str | os.PathLike, outdir: str | os.PathLike, **options) -> dict:
    """:func:`enhance_video` of options already checked (:func:`vidsr.pipeline.enhance_many`
    checks them once for all its files)."""
    from vidsr.files import folder_lock

    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VidsrError(f"cannot create output folder '{outdir}': {e.strerror or e}") from None
    with folder_lock(outdir):
        return enhance_into(path, outdir, **options)


def enhance_into(
    path: str | os.PathLike,
    outdir: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
    mode: str = "both",
    audio: str | os.PathLike | None = None,
    use_audio: bool = True,
    voice_to: str | int = "auto",
    scale: float | None = None,
    inset: bool = False,
    compare: bool = False,
    face_range: tuple[float, float] | None = None,
    drawing: Drawing = DEFAULT,
    detect_every: int = DETECT_EVERY,
    device: str = "auto",
    half: bool = False,
    batch: int = BATCH,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    model=None,
    detector=None,
    raw_flicker: bool = False,
    crop_scale: float | None = None,
    on_face: Callable[[Face], None] | None = None,
) -> dict:
    """Super-resolve the tiny faces of the video at ``path``; write the results to ``outdir``.

    Writes ``<stem>.overlay.mp4`` (``mode`` "both" or "overlay": every frame enlarged by
    ``scale``, each face of ``face_range`` px replaced by G(z~_f), feathered and matched
    in colour; ``inset``: drawn enlarged beside its box instead; the original sound),
    ``<stem>.track-<id>.mp4`` per enhanced track (``mode`` "both" or "tracks": the R x R
    face; ``compare``: the nearest-upsampled x_l beside it; the sound of the span) and
    ``<stem>.report.json``, whose content is returned.

    - ``audio``: take the voice a from this file instead (the paper's mixing, Fig. 1b);
      ``use_audio=False`` or a video without sound: z_f = z_l (E_l only, with a warning
      for a video without sound).
    - ``voice_to``: who hears the video's own sound. "auto": only its speech, each stretch
      given to the face that speaks it, or to no one (:mod:`vidsr.pipeline.speakers`),
      a track's voice pooled over its stretches (:class:`TrackVoices`), the tracks given
      no speech enhanced from the picture alone; a track id: all speech to that track;
      "all": every face hears the 4 s around its frame. ``audio`` goes to every face.
    - ``face_range`` (min, max): the face sizes (px, the width of the detector's box,
      median over the track) that are replaced; default :func:`default_face_range`.
      Faces are cropped as the training faces were (:func:`training_crop_box`);
      ``crop_scale``: another side for that square, in box widths (default 1.2, as trained).
    - ``drawing``: how each face is drawn (:class:`vidsr.pipeline.drawing.Drawing`: the smoothing
      of z_f along the track, refinement, back-projection onto the face's own pixels or its x_l
      averaged over frames, the share of G's detail kept); written whole into the report.
    - ``scale``: default :func:`default_scale`. ``batch``: faces per model call.
    - ``device``: "auto" (a GPU if there is one), "cpu", "cuda..."; ``half``: bf16/fp16
      autocast. ``model`` / ``detector``: already loaded ones (:func:`enhance_many`);
      ``weights`` and ``device`` then do not matter (the report names the model's file).
    - ``progress(stage, done, total)`` (:data:`Progress`); ``warn(message)`` for each
      warning (default: a line on stderr), which the report lists too.

    The report's ``flicker`` is that of the faces written (every pair of consecutive frames
    of a track); ``raw_flicker``: also that of G's unsmoothed output G(z_f), for a quarter of
    the pairs (G then runs on half as many faces again).

    ``on_face(face)``: called with every enhanced :class:`vidsr.pipeline.tracks.Face` (its
    frame, box, 8x8 crop, own pixels and output image) as it is written, for evaluation.

    User errors raise :class:`vidsr.errors.VidsrError`; then nothing of this run is left.
    Call it through :func:`enhance_video`, which locks ``outdir``.
    """
    from vidsr.faces.crop import TRAINING_CROP_SCALE
    from vidsr.files import write_json

    started, clock, warnings = time.perf_counter(), Clock(), []

    def warning(message: str) -> None:
        warnings.append(message)
        (warn or warn_stderr)(message)

    voice_to = parse_voice_to(voice_to)
    crop_scale = TRAINING_CROP_SCALE if crop_scale is None else crop_scale
    path, outdir = os.fspath(path), Path(outdir)
    info = check_input(path, outdir, scale, mode)
    stem = Path(path).stem
    model = model if model is not None else load_model(weights, device)
    dev = model_device(model)
    autocast = half_autocast(dev, half)

    # The voice a: this video's, another file's, or none (E_l only).
    voice, voice_source = open_voice(path, info, audio, model, dev, autocast, clock, warning) if use_audio else (None, None)
    # Pass 1: find and follow the faces; choose those to replace, and whose voice each hears.
    times: list[float] = []  # every frame's timestamp: the outputs keep them (variable frame rates)
    tracks, frames_read = find_tracks(path, info, detector or make_detector(dev, face_range), detect_every, clock,
                                      progress, warning, times)
    check_frame_times(times, info.fps, path, warning)
    selection = select_tracks(tracks, face_range, model.preset.lr_size, path, warning)
    chosen = selection.chosen
    voice, stretches, speech = whose_voice(voice, voice_source, voice_to, chosen, path, info.fps, model, dev,
                                           autocast, clock)
    scale, size = frame_size(info, scale, model.preset.resolution, chosen, crop_scale)
    radius = drawing.smooth_radius(info.fps)

    # Pass 2: x_l = D(crop); z_f = E_l(x_l) + F(E_l(x_l), E_a(a)); face = G(z~_f), pasted back.
    flicker = {tid: Flicker() for tid in chosen}
    outputs: dict[str, object] = {}
    with contextlib.ExitStack() as stack:
        out = Outputs(stack, path, outdir, stem, info, chosen, model.preset.resolution, compare,
                      audio_cut=info.has_audio and mode != "overlay", times=times)
        if voice is not None:
            stack.callback(voice.close)
        try:
            if chosen and mode in ("both", "overlay"):
                outputs["overlay"] = out.open_overlay(size, yuv=not inset).name
            render = Renderer(out, clock, info, size, model.preset.resolution, inset=inset,
                              tracks=mode in ("both", "tracks"), flicker=flicker,
                              on_face=on_face, progress=progress)
            batcher = Batcher(model, voice, dev, autocast, clock, batch=batch, radius=radius, raw=raw_flicker,
                              drawing=drawing,
                              max_frames=Batcher.frames_held(batch, Batcher.look_ahead(radius, drawing.frames),
                                                             info.width * info.height * 3, BUFFER_BYTES))
            for frame, faces in face_crops(path, chosen, crop_scale, model.preset.lr_size, model.preset.resolution,
                                           clock):
                for ready in batcher.add(frame, faces):
                    render(*ready)
            for ready in batcher.finish():
                render(*ready)
            with clock("encode"):  # the encoders' last frames and the sound
                out.finish()
        except BaseException:
            out.discard()
            raise

    # The report.
    settings = run_settings(mode=mode, voice_source=voice_source, voice_to=voice_to, scale=scale, size=size,
                            inset=inset, compare=compare, selection=selection, drawing=drawing, radius=radius,
                            detect_every=detect_every, device=dev,
                            half=half, batch=batch, crop_scale=crop_scale)
    report = video_report(
        path=path, info=info, model=model, selection=selection, outputs=outputs, settings=settings,
        track_videos={tid: out.track_name(tid) for tid in chosen} if mode in ("both", "tracks") else {},
        voice=voice, voice_frames=batcher.heard if voice_source == "own" else {}, stretches=stretches, speech=speech,
        flicker=flicker, frames=render.frames, frames_read=frames_read, clock=clock,
        seconds=time.perf_counter() - started, warnings=warnings)
    try:
        write_json(outdir / f"{stem}.report.json", report)
    except BaseException:
        out.discard()
        raise
    return report


def probe_video(path: str | os.PathLike):
    """The :func:`vidsr.media.probe` of ``path``; MediaError for anything that is not a
    readable video with a frame rate (missing, empty, another kind of file)."""
    from vidsr.media import probe
    from vidsr.media.probe import check_readable

    if os.path.getsize(check_readable(path)) == 0:
        raise MediaError(f"'{os.fspath(path)}' is empty (0 bytes), not a video")
    info = probe(path)
    if info.fps <= 0:
        raise MediaError(f"'{os.fspath(path)}' has no frame rate")
    return info


def check_input(path: str, outdir: Path, scale: float | None, mode: str):
    """The :func:`vidsr.media.probe` of the video at ``path``, once it is known to be one
    this run can enhance into ``outdir`` (MediaError, VidsrError otherwise)."""
    info = probe_video(path)
    if scale is not None and mode != "tracks" and max(info.width, info.height) * scale > MAX_ENCODE:
        raise VidsrError(f"--scale {scale:g} would make {round(info.width * scale)}x{round(info.height * scale)} "
                         f"frames of '{path}'; H.264 allows at most {MAX_ENCODE} px a side (the default scale "
                         f"keeps within {MAX_OUTPUT[0]}x{MAX_OUTPUT[1]})")
    outdir.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    if any(Path(path).resolve() == (outdir / name).resolve() for name in (f"{stem}.report.json", f"{stem}.overlay.mp4")):
        raise VidsrError(f"'{path}' would be overwritten by its own output; choose another output folder")
    return info


def find_tracks(path: str, info, detector, detect_every: int, clock: Clock, progress: Progress | None,
                warning: Callable[[str], None], times: list[float] | None = None) -> tuple[list, int]:
    """Pass 1: the face tracks of the video (:func:`vidsr.faces.track_video`, one frame at
    a time) and the number of frames read (``times``: every frame's timestamp is appended).
    MediaError when no frame decodes; a warning when far fewer frames are read than the
    container announces."""
    from vidsr.faces import track_video

    frames_read = 0

    def tracking(done: int, total: int) -> None:
        nonlocal frames_read
        frames_read = done
        if progress:
            progress("tracking", done, total)

    with clock("decode"):
        tracks = track_video(path, detect_every=detect_every, detector=TimedDetector(detector, clock),
                             progress=tracking, times=times)
    if frames_read == 0:
        raise MediaError(f"'{path}': no frame could be decoded")
    if info.num_frames and frames_read < info.num_frames - max(2, 0.02 * info.num_frames):
        warning(f"only {frames_read} of the {info.num_frames} frames the container announces could be read "
                f"from '{path}' (truncated or damaged file?): the rest of the video is missing from the outputs")
    clock.seconds["decode"] -= clock.seconds["detect"]
    return tracks, frames_read


def check_frame_times(times: list[float], fps: float, path: Path, warning: Callable[[str], None]) -> None:
    """Warns when the frames' times vary but the ffmpeg in use cannot keep them (ffmpeg 5.1:
    :func:`vidsr.media.ffmpeg.can_retime_frames`): the outputs are then written at the
    constant rate, and drift from the sound."""
    from vidsr.media.ffmpeg import can_retime_frames, ffmpeg_exe
    from vidsr.media.writer import constant_rate

    if times and not constant_rate(times, fps) and not can_retime_frames():
        warning(f"'{path}' has a variable frame rate, but the ffmpeg in use ({ffmpeg_exe()}) cannot keep each "
                f"frame's time (ffmpeg 6.0 or newer can): the outputs are written at {fps:g} fps and may drift "
                "from the sound")


def face_crops(path: str, chosen: dict, crop_scale: float, lr_size: int, resolution: int,
               clock: Clock) -> Iterator[tuple[object, list[Face]]]:
    """Pass 2's input: every frame of the video (none when no track is ``chosen``) with
    its faces, x_l cut as the training faces were (:func:`vidsr.faces.training_crop_box`,
    ``crop_scale`` box widths, reduced to ``lr_size``), and the face's own pixels: the same
    box at its track's :func:`own_side` (``Face.own``, up to ``resolution`` px)."""
    if not chosen:
        return
    from vidsr.faces import crop_face, iter_tracked_frames, training_crop_box

    sides = {tid: own_side(t, crop_scale, lr_size, resolution) for tid, t in chosen.items()}
    for frame, boxes in clock.iterate(iter_tracked_frames(path, list(chosen.values())), "decode"):
        with clock("decode"):
            faces = []
            for tid, box in boxes:
                sq = training_crop_box(box, crop_scale)
                faces.append(Face(tid, frame.index, frame.time, sq, crop_face(frame.image, sq, lr_size),
                                  crop_face(frame.image, sq, sides[tid])))
        yield frame, faces
