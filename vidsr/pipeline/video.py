"""One video through the model: :func:`enhance_video`, what `vidsr enhance` runs per file."""

from __future__ import annotations

import contextlib
import os
import time
from collections import deque
from pathlib import Path
from typing import Callable

import numpy as np

from vidsr.errors import MediaError, VidsrError
from vidsr.pipeline.constants import BUFFER_BYTES, DEFAULT_SMOOTH, INSET_ENLARGE, MAX_ENCODE, MAX_OUTPUT
from vidsr.pipeline.model import autocast_factory, load_model, make_detector, model_device
from vidsr.pipeline.options import check_options, default_face_range, default_scale, parse_voice_to
from vidsr.pipeline.outputs import Outputs
from vidsr.pipeline.timing import Clock, TimedDetector, timings
from vidsr.pipeline.tracks import Face, Flicker, frames_covered, smoothing_weights, track_size
from vidsr.pipeline.voice import open_voice, plan_voices

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage "tracking" (pass 1) or "enhancing" (pass 2),
counted in frames; ``total`` is an estimate."""


def _warn_stderr(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def enhance_video(path: str | os.PathLike, outdir: str | os.PathLike, **options) -> dict:
    """:func:`enhance_into` while holding ``outdir``'s lock (:func:`vidsr.files.folder_lock`):
    a second run into the same folder at the same time fails at once with "already being
    written", and the temporaries of a killed run are swept first."""
    from vidsr.files import folder_lock

    check_options(**options)
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
    smooth: float = DEFAULT_SMOOTH,
    detect_every: int = 5,
    device: str = "auto",
    half: bool = False,
    batch: int = 64,
    progress: Progress | None = None,
    warn: Callable[[str], None] | None = None,
    model=None,
    detector=None,
    measure_flicker: bool = True,
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
    - ``smooth``: seconds of the triangular moving average of z_f along each track (0: off).
    - ``scale``: default :func:`default_scale`. ``batch``: faces per model call.
    - ``device``: "auto" (a GPU if there is one), "cpu", "cuda..."; ``half``: bf16/fp16
      autocast. ``model`` / ``detector``: already loaded ones (:func:`enhance_many`).

    ``on_face(face)``: called with every enhanced :class:`vidsr.pipeline.tracks.Face` (its
    frame, box, 8x8 crop and output image) as it is written, for evaluation.

    User errors raise :class:`vidsr.errors.VidsrError`; then nothing of this run is left.
    Call it through :func:`enhance_video`, which locks ``outdir``.
    """
    import torch

    from vidsr.faces import crop_face, iter_tracked_frames, track_video, training_crop_box
    from vidsr.faces.crop import TRAINING_CROP_SCALE
    from vidsr.media import probe
    from vidsr.weights import resolve_weights

    started = time.perf_counter()
    clock = Clock()
    warnings: list[str] = []
    warn = warn or _warn_stderr

    def warning(message: str) -> None:
        warnings.append(message)
        warn(message)

    check_options(mode=mode, batch=batch, detect_every=detect_every, smooth=smooth, scale=scale, face_range=face_range,
                  crop_scale=crop_scale, voice_to=voice_to)
    voice_to = parse_voice_to(voice_to)
    crop_scale = TRAINING_CROP_SCALE if crop_scale is None else crop_scale
    path = os.fspath(path)
    info = probe(path)  # MediaError for anything that is not a readable video
    if info.fps <= 0:
        raise MediaError(f"'{path}' has no frame rate")
    if scale is not None and mode != "tracks" and max(info.width, info.height) * scale > MAX_ENCODE:
        raise VidsrError(f"--scale {scale:g} would make {round(info.width * scale)}x{round(info.height * scale)} "
                         f"frames of '{path}'; H.264 allows at most {MAX_ENCODE} px a side (the default scale "
                         f"keeps within {MAX_OUTPUT[0]}x{MAX_OUTPUT[1]})")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    report_path = outdir / f"{stem}.report.json"
    if any(Path(path).resolve() == (outdir / name).resolve() for name in (report_path.name, f"{stem}.overlay.mp4")):
        raise VidsrError(f"'{path}' would be overwritten by its own output; choose another output folder")

    if model is None:
        weights = resolve_weights(weights)
        model = load_model(weights, device)
    dev = model_device(model)
    autocast = autocast_factory(dev, half)
    lowres, resolution = model.preset.lowres, model.preset.resolution
    lo, hi = face_range if face_range is not None else default_face_range(lowres)

    # The voice a: this video's, another file's, or none (E_l only).
    voice, voice_source = open_voice(path, info, audio, model, dev, autocast, clock, warning) if use_audio else (None, None)

    # Pass 1: find and follow the faces (constant memory: one frame at a time).
    if detector is None:
        detector = make_detector(dev, face_range)
    frames_read = [0]

    def tracking(done: int, total: int) -> None:
        frames_read[0] = done
        if progress:
            progress("tracking", done, total)

    with clock("decode"):
        tracks = track_video(path, detect_every=detect_every, detector=TimedDetector(detector, clock),
                             progress=tracking)
    if frames_read[0] == 0:
        raise MediaError(f"'{path}': no frame could be decoded")
    if info.num_frames and frames_read[0] < info.num_frames - max(2, 0.02 * info.num_frames):
        warning(f"only {frames_read[0]} of the {info.num_frames} frames the container announces could be read "
                f"from '{path}' (truncated or damaged file?): the rest of the video is missing from the outputs")
    clock.seconds["decode"] -= clock.seconds["detect"]
    sizes = {t.id: track_size(t) for t in tracks}
    chosen = {t.id: t for t in tracks if lo <= sizes[t.id] <= hi}
    if not tracks:
        warning(f"no faces found in '{path}'")
    elif not chosen:
        warning(f"none of the {len(tracks)} face track(s) in '{path}' is {lo:g}-{hi:g} px "
                f"(sizes {', '.join(f'{s:.0f}' for s in sizes.values())}); nothing to enhance (see --face-range)")

    # Whose voice: the video's speech, stretch by stretch, to the faces that speak it.
    stretches, speech = None, None
    if voice_source == "own" and voice_to != "all" and chosen:
        if isinstance(voice_to, int) and voice_to not in chosen:
            voice.close()
            raise VidsrError(f"--voice-to {voice_to}: '{path}' has no enhanced face track {voice_to} "
                             f"(enhanced: {', '.join(map(str, chosen)) or 'none'}; see vidsr detect)")
        voice.close()
        voice, stretches, speech = plan_voices(path, chosen, voice_to, info.fps, model, dev, autocast, clock)
    voice_frames = dict.fromkeys(chosen, 0)

    if scale is None:
        sides = [(b[2] - b[0]) * crop_scale for t in chosen.values() for b in t.boxes]
        scale = default_scale(info.width, info.height, resolution, sides)
    out_w, out_h = max(2, round(info.width * scale)), max(2, round(info.height * scale))
    sx, sy = out_w / info.width, out_h / info.height
    radius = int(round(smooth * info.fps)) // 2
    weights_j = smoothing_weights(radius)

    counts = {"frames": 0, "frames_enhanced": 0, "frames_without_faces": 0, "faces_enhanced": 0, "faces_outside_range": 0}
    flicker = {tid: Flicker() for tid in chosen}
    history: dict[int, dict[int, object]] = {tid: {} for tid in chosen}  # z_f by frame, per track
    frame_bytes = info.width * info.height * 3
    max_frames = max(2 * radius + 8, min(batch + 2 * radius, BUFFER_BYTES // max(frame_bytes, 1)))

    def encode(faces: list[Face]) -> None:
        """z_f = z_l + F(z_l, z_a) for faces, in batches."""
        for i in range(0, len(faces), batch):
            chunk = faces[i:i + batch]
            x_l = torch.from_numpy(np.stack([f.crop for f in chunk])).to(dev)
            x_l = x_l.permute(0, 3, 1, 2).float() / 127.5 - 1
            z_a = voice.codes_for(chunk) if voice is not None else [None] * len(chunk)
            heard = [i for i, code in enumerate(z_a) if code is not None]
            with clock("model"), autocast():
                z = model.encode_lowres(x_l).float()
                if len(heard) == len(chunk):
                    z = model.fuse(z, torch.stack(z_a)).float()
                elif heard:  # some faces have a voice, the others keep z_l
                    z[heard] = model.fuse(z[heard], torch.stack([z_a[i] for i in heard])).float()
            for i in heard:
                if voice_source == "own":
                    voice_frames[chunk[i].track] += 1
            for f, zf in zip(chunk, z):
                f.z = zf
                history[f.track][f.frame] = zf

    def smoothed(face: Face):
        """z~_f: the weighted mean of z_f over the track's frames within the radius."""
        if radius == 0:
            return face.z
        codes = history[face.track]
        frames = [g for g in range(face.frame - radius, face.frame + radius + 1) if g in codes]
        w = torch.tensor(weights_j[[g - face.frame + radius for g in frames]], device=dev)
        z = torch.stack([codes[g] for g in frames])
        return (w[:, None, None] * z).sum(0) / w.sum()

    def generate(faces: list[Face]) -> None:
        from vidsr.imaging import to_uint8

        for i in range(0, len(faces), batch):
            chunk = faces[i:i + batch]
            with clock("model"), autocast():
                z = torch.stack([smoothed(f) for f in chunk])
                images = to_uint8(model.generate(z))
                raws = images
                if radius and measure_flicker:
                    raws = to_uint8(model.generate(torch.stack([f.z for f in chunk])))
            for f, image, raw in zip(chunk, images, raws):
                f.image, f.raw = image, raw

    outputs_written: dict[str, object] = {}
    pending: deque[tuple[object, list[Face]]] = deque()
    with contextlib.ExitStack() as stack:
        out = Outputs(stack, path, outdir, stem, info, chosen, resolution, compare,
                       audio_cut=info.has_audio and mode != "overlay")
        if voice is not None:
            stack.callback(voice.close)
        try:
            if chosen and mode in ("both", "overlay"):
                outputs_written["overlay"] = out.open_overlay((out_w, out_h)).name

            def render(frame, faces: list[Face]) -> None:
                import cv2

                from vidsr.faces.paste import draw_inset, paste_face

                if out.overlay is not None:
                    with clock("paste"):
                        image = frame.image
                        if (out_w, out_h) != (info.width, info.height):
                            image = cv2.resize(image, (out_w, out_h), interpolation=cv2.INTER_CUBIC)
                        for f in faces:
                            box = f.box * np.array([sx, sy, sx, sy], np.float32)
                            if inset:
                                draw_inset(image, f.image, box, max(resolution, INSET_ENLARGE * (box[2] - box[0])))
                            else:
                                paste_face(image, f.image, box)
                    with clock("encode"):
                        out.overlay.write(image)
                for f in faces:
                    if on_face is not None:
                        on_face(f)
                    if measure_flicker:
                        flicker[f.track].add(f.image, f.raw)
                    if mode in ("both", "tracks"):
                        with clock("encode"):
                            out.write_track(f)

            def flush(final: bool) -> None:
                encode([f for _, faces in pending for f in faces if f.z is None])
                last = pending[-1][0].index
                ready = [(fr, faces) for fr, faces in pending if final or fr.index + radius <= last]
                generate([f for _, faces in ready for f in faces])
                for _ in ready:
                    frame, faces = pending.popleft()
                    render(frame, faces)
                    counts["frames"] += 1
                    if progress:
                        progress("enhancing", counts["frames"], max(info.num_frames, counts["frames"]))
                keep_from = (pending[0][0].index if pending else last + 1) - radius
                for h in history.values():
                    for g in [g for g in h if g < keep_from]:
                        del h[g]

            waiting = 0  # faces not yet through E_l / E_a / F
            frames = clock.iterate(iter_tracked_frames(path, list(chosen.values())), "decode") if chosen else ()
            for frame, boxes in frames:
                with clock("decode"):  # x_l: the face crops, as the training faces were cut
                    faces = []
                    for tid, box in boxes:
                        sq = training_crop_box(box, crop_scale)
                        faces.append(Face(tid, frame.index, frame.time, sq, crop_face(frame.image, sq, lowres)))
                pending.append((frame, faces))
                waiting += len(faces)
                if waiting >= batch or len(pending) >= max_frames:
                    flush(final=False)
                    waiting = 0
            if pending:
                flush(final=True)
            with clock("encode"):  # the encoders' last frames and the sound
                out.finish()
        except BaseException:
            out.discard()
            raise

    # Frame counts: pass 2 saw every frame; the tracks say where the faces were.
    if not chosen:
        counts["frames"] = frames_read[0]
    counts["frames_without_faces"] = max(0, counts["frames"] - frames_covered(tracks))
    counts["frames_enhanced"] = frames_covered(chosen.values())
    counts["faces_enhanced"] = sum(len(t.frames) for t in chosen.values())
    counts["faces_outside_range"] = sum(len(t.frames) for t in tracks if t.id not in chosen)

    track_rows = []
    for t in tracks:
        row = {"id": t.id, "first_frame": t.first, "last_frame": t.last, "frames": len(t.frames),
               "size_px": round(sizes[t.id], 1), "enhanced": t.id in chosen,
               "box": [round(float(v), 1) for v in np.median(np.asarray(t.boxes, np.float64).reshape(-1, 4), 0)]}
        if t.id in chosen:
            row["voice_frames"] = voice_frames[t.id]
            if stretches is not None:
                row["speech"] = [[s.start, s.end] for s in stretches if s.track == t.id]
            if mode in ("both", "tracks"):
                row["video"] = out.track_name(t.id)
                outputs_written[f"track-{t.id}"] = row["video"]
            row["flicker"] = flicker[t.id].as_dict()
        else:
            row["skipped"] = f"smaller than {lo:g} px" if sizes[t.id] < lo else f"larger than {hi:g} px"
        track_rows.append(row)
    pairs = sum(f.pairs for f in flicker.values())

    def mean_flicker(key: str) -> float | None:
        if not pairs:
            return None
        return round(sum(getattr(f, key) for f in flicker.values()) / pairs, 3)

    report = {
        "video": path,
        "status": "ok" if chosen else "no faces",
        "outputs": outputs_written,
        "model": {"preset": model.preset.name, "lowres": lowres, "resolution": resolution,
                  "weights": os.fspath(weights) if weights else None},
        "settings": {"mode": mode, "voice": voice_source, "voice_to": voice_to if voice_source == "own" else None,
                     "scale": scale,
                     "output_size": [out_w // 2 * 2, out_h // 2 * 2],  # H.264 (yuv420p) needs even sizes
                     "inset": inset, "compare": compare, "face_range": [lo, hi if hi < float("inf") else None],
                     "smooth_s": smooth,
                     "smooth_frames": 2 * radius + 1, "detect_every": detect_every, "device": str(dev),
                     "half": half, "batch": batch, "crop": "training_crop_box",
                     "crop_scale": crop_scale},
        "input": {"width": info.width, "height": info.height, "fps": info.fps, "duration": info.duration,
                  "has_audio": info.has_audio, "frames_expected": info.num_frames, "frames_read": frames_read[0]},
        **counts,
        "tracks_found": len(tracks),
        "tracks_enhanced": len(chosen),
        "voice": {"codes": voice.codes_made if voice is not None else 0,
                  "speech_s": round(speech.seconds, 3) if speech is not None else None,
                  "stretches": [s.as_dict() for s in stretches] if stretches is not None else None},
        "flicker": {"raw": mean_flicker("total_raw"), "smoothed": mean_flicker("total"),
                    "unit": "mean |change| between consecutive faces of a track, 0-255"},
        "timings_s": timings(clock, time.perf_counter() - started),
        "warnings": warnings,
        "tracks": track_rows,
    }
    from vidsr.files import write_json

    try:
        write_json(report_path, report)
    except BaseException:
        out.discard()
        raise
    return report
