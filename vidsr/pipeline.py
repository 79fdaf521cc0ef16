"""The inference pipeline of Fig. 1 over whole videos: what `vidsr enhance` runs.

For every tracked face in every frame:

    x_l = D(face crop)                        the l x l (8 x 8) low-res input
    z_l = E_l(x_l);  z_a = E_a(a_t)           a_t: the 4 s of voice centred on the frame
    z_f = z_l + F(z_l, z_a)                   (z_f = z_l without a voice: "E_l only")
    z~_f = sum_j w_j z_f(t + j) / sum_j w_j   smoothed along the track, |j| <= r
    face = G(z~_f)                            R x R, pasted back into the frame

:func:`enhance_video` does one video in two streaming passes (1: detect and track the
faces, :func:`vidsr.faces.track_video`; 2: decode again, crop, run the model in batches,
paste back and encode), so memory does not grow with the video's length: only a bounded
window of frames waits for its faces' batch and smoothing look-ahead.
:func:`enhance_many` runs it over files, folders and globs with one loaded model.
:func:`enhance_face` and :func:`mix_faces` are the single-image demo (the authors'
4-tile strip) and the mixing of faces with other people's voices (Fig. 1b, Fig. 5).
"""

from __future__ import annotations

import contextlib
import gc
import glob
import os
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from vidsr.errors import MediaError, NoAudioError, VidsrError

VIDEO_EXTENSIONS = frozenset({".mp4", ".mkv", ".avi", ".mpg", ".mpeg", ".mov", ".webm", ".m4v"})
STAGES = ("decode", "detect", "audio", "model", "paste", "encode")
MODES = ("both", "overlay", "tracks")
AUDIO_HOP = 0.5  # seconds between the 4 s windows' centres (AudioWindows)
MAX_OUTPUT = (3840, 2160)  # the default --scale keeps the overlay within this
BUFFER_BYTES = 256 * 2**20  # frames waiting for their faces' batch: at most about this much
DEFAULT_SMOOTH = 0.4  # seconds: the window of the moving average of z_f along a track
INSET_ENLARGE = 2.0  # review mode: the face is drawn this many times its box's size

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage "tracking" (pass 1) or "enhancing" (pass 2),
counted in frames; ``total`` is an estimate."""


def default_face_range(lowres: int) -> tuple[float, float]:
    """The faces replaced by default: any detected face up to 2x the model's input (16 px for
    an 8 px input). A bigger face shrunk to l x l would lose more detail than G puts back."""
    return (1.0, 2.0 * lowres)


def check_options(mode: str = "both", batch: int = 64, detect_every: int = 5, smooth: float = DEFAULT_SMOOTH,
                  scale: float | None = None, face_range: tuple[float, float] | None = None, **_) -> None:
    """VidsrError for an option :func:`enhance_video` cannot use."""
    if mode not in MODES:
        raise VidsrError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if batch < 1:
        raise VidsrError(f"batch must be at least 1, got {batch}")
    if detect_every < 1:
        raise VidsrError(f"detect_every must be at least 1, got {detect_every}")
    if smooth < 0:
        raise VidsrError(f"smooth must be >= 0 seconds, got {smooth}")
    if scale is not None and not scale > 0:
        raise VidsrError(f"scale must be positive, got {scale}")
    if face_range is not None and not 0 < face_range[0] <= face_range[1]:
        raise VidsrError(f"face range must be MIN:MAX with 0 < MIN <= MAX, got {face_range[0]:g}:{face_range[1]:g}")


# -- small pieces ------------------------------------------------------------------------


class _Clock:
    """Seconds spent per stage (STAGES)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def iterate(self, items: Iterable, stage: str) -> Iterator:
        """``items``, with the time spent producing each one added to ``stage``."""
        it = iter(items)
        while True:
            with self(stage):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item


class _TimedDetector:
    """A face detector whose ``detect`` calls are timed as the "detect" stage."""

    def __init__(self, detector, clock: _Clock):
        self.detector, self.clock = detector, clock

    def detect(self, image: np.ndarray):
        with self.clock("detect"):
            return self.detector.detect(image)


class _Voice:
    """z_a = E_a(a_t) for frame times t; each 4 s window (every AUDIO_HOP s) is encoded once."""

    def __init__(self, wave: np.ndarray, model, device, autocast, clock: _Clock, cache_size: int = 64):
        from vidsr.audio import AudioWindows

        self.windows = AudioWindows(wave, hop=AUDIO_HOP)
        self.model, self.device, self.autocast, self.clock = model, device, autocast, clock
        self.cache_size = cache_size
        self._codes: OrderedDict[float, object] = OrderedDict()

    def codes(self, times: list[float]):
        import torch

        keys = [self.windows.center(t) for t in times]
        missing = [k for k in dict.fromkeys(keys) if k not in self._codes]
        if missing:
            with self.clock("audio"):
                spec = self.windows.spectrograms(missing).to(self.device)
            with self.clock("model"), self.autocast():
                z_a = self.model.encode_audio(spec).float()
            self._codes.update(zip(missing, z_a))
        for k in dict.fromkeys(keys):
            self._codes.move_to_end(k)
        while len(self._codes) > max(self.cache_size, len(set(keys))):
            self._codes.popitem(last=False)
        return torch.stack([self._codes[k] for k in keys])


def _autocast_factory(device, half: bool):
    """Mixed precision for ``half``: bf16 (fp16 on GPUs without bf16); else a no-op."""
    import torch

    if not half:
        return contextlib.nullcontext
    dtype = torch.bfloat16
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return lambda: torch.autocast(device.type, dtype=dtype)


def _smoothing_weights(radius: int) -> np.ndarray:
    """Triangular weights w_j = r + 1 - |j| for j = -r..r (a box filter applied twice)."""
    return (radius + 1 - np.abs(np.arange(-radius, radius + 1))).astype(np.float32)


def _timings(clock: _Clock, total: float) -> dict:
    """Seconds per stage, "other" (loading the model and the detector, probing, the report)
    and the total."""
    out = {k: round(v, 3) for k, v in clock.seconds.items()}
    out["other"] = round(max(0.0, total - sum(clock.seconds.values())), 3)
    out["total"] = round(total, 3)
    return out


def _frames_covered(tracks: Iterable) -> int:
    """How many frames have at least one of ``tracks`` (each covers first..last)."""
    total, end = 0, -1
    for first, last in sorted((t.first, t.last) for t in tracks):
        if last > end:
            total += last - max(first, end + 1) + 1
            end = last
    return total


def _track_size(track) -> float:
    """A track's face size: the median width of its boxes, in pixels (as Track.mean_size:
    "a 12 px face" is 12 px wide; MTCNN's boxes are about 1.4 times as high)."""
    b = np.asarray(track.boxes, np.float64).reshape(-1, 4)
    return float(np.median(b[:, 2] - b[:, 0]))


def default_scale(width: int, height: int, resolution: int, crop_sides: list[float]) -> float:
    """Enough enlargement for the median face crop to show the model's R pixels, keeping
    the frame within MAX_OUTPUT; at least 1."""
    if not crop_sides:
        return 1.0
    wanted = resolution / float(np.median(crop_sides))
    cap = min(MAX_OUTPUT[0] / width, MAX_OUTPUT[1] / height)
    return round(max(1.0, min(wanted, cap)), 2)


@dataclass
class _Face:
    """One face in one frame on its way through the model."""

    track: int
    frame: int
    time: float
    box: np.ndarray  # the square crop, xyxy in input pixels
    crop: np.ndarray  # x_l as l x l x 3 uint8
    z: object = None  # z_f [k, d] before smoothing
    image: np.ndarray | None = None  # G(smoothed z_f), R x R x 3 uint8
    raw: np.ndarray | None = None  # G(z_f) (only to measure flicker)


@dataclass
class _Flicker:
    """Mean absolute change (0-255) between consecutive faces of a track."""

    previous: np.ndarray | None = None
    previous_raw: np.ndarray | None = None
    total: float = 0.0
    total_raw: float = 0.0
    pairs: int = 0

    def add(self, image: np.ndarray, raw: np.ndarray) -> None:
        if self.previous is not None:
            self.total += float(np.abs(image.astype(np.int16) - self.previous).mean())
            self.total_raw += float(np.abs(raw.astype(np.int16) - self.previous_raw).mean())
            self.pairs += 1
        self.previous, self.previous_raw = image, raw

    def as_dict(self) -> dict:
        if not self.pairs:
            return {"raw": None, "smoothed": None, "pairs": 0}
        return {"raw": round(self.total_raw / self.pairs, 3), "smoothed": round(self.total / self.pairs, 3), "pairs": self.pairs}


def _remove(path: str | os.PathLike) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _cut_audio(src: str, dst: Path, start: float, duration: float) -> None:
    """The sound of ``src`` from ``start`` for ``duration`` seconds, as WAV in ``dst``."""
    from vidsr.media import run_ffmpeg
    from vidsr.media.ffmpeg import file_arg

    run_ffmpeg(
        ["-ss", f"{max(start, 0.0):.6f}", "-i", file_arg(src), "-t", f"{duration:.6f}",
         "-map", "0:a:0", "-vn", "-c:a", "pcm_s16le", "-y", file_arg(dst)],
        what=f"cannot cut the audio of '{src}'",
    )  # fmt: skip


def _warn_stderr(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    Console(stderr=True).print(f"[yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def load_model(weights=None, device: str = "auto"):
    """The FaceSR model (E_l, E_a, F, G) from ``weights`` (default: the shipped model)."""
    from vidsr.models.facesr import FaceSR
    from vidsr.train.context import pick_device
    from vidsr.weights import resolve_weights

    return FaceSR.load(resolve_weights(weights), pick_device(device))


def _model_device(model):
    return next(model.parameters()).device


def make_detector(device, face_range: tuple[float, float] | None):
    """The face detector, on the model's device. It looks for faces from 8 px (the
    detector's usual floor), or from a smaller ``face_range`` minimum (4 px at the least;
    slower: the enlarged frame it searches grows with (12 / min)^2)."""
    from vidsr.faces import TinyFaceDetector

    min_face = 8 if face_range is None else int(max(4, min(8, face_range[0])))
    return TinyFaceDetector(device="cuda" if device.type == "cuda" else "cpu", min_face=min_face)


# -- one video -----------------------------------------------------------------------------


class _Outputs:
    """The overlay video and the per-track videos of one run, written as frames are ready.

    Every writer is atomic; anything already finished is deleted again by :meth:`discard`
    when the run fails, so a failed video leaves no outputs behind.
    """

    def __init__(self, stack: contextlib.ExitStack, path: str, outdir: Path, stem: str, info,
                 tracks: dict, resolution: int, compare: bool, audio_cut: bool):
        self.stack, self.path, self.outdir, self.stem, self.info = stack, path, outdir, stem, info
        self.tracks, self.resolution, self.compare, self.audio_cut = tracks, resolution, compare, audio_cut
        self.writers: dict[int, object] = {}
        self.finished: list[Path] = []
        self.overlay = None

    def open_overlay(self, size: tuple[int, int]) -> Path:
        from vidsr.media import VideoWriter

        target = self.outdir / f"{self.stem}.overlay.mp4"
        self.overlay = self.stack.enter_context(
            VideoWriter(target, *size, self.info.fps, audio_from=self.path if self.info.has_audio else None))
        return target

    def track_name(self, track_id: int) -> str:
        return f"{self.stem}.track-{track_id}.mp4"

    def write_track(self, face: _Face) -> None:
        from vidsr.media import VideoWriter

        track = self.tracks[face.track]
        writer = self.writers.get(face.track)
        if writer is None:
            audio = None
            if self.audio_cut:
                audio = self.outdir / f".{self.stem}.track-{face.track}.audio.partial.wav"
                self.stack.callback(_remove, audio)
                _cut_audio(self.path, audio, face.time, len(track.frames) / self.info.fps)
            width = self.resolution * (2 if self.compare else 1)
            writer = self.stack.enter_context(VideoWriter(
                self.outdir / self.track_name(face.track), width, self.resolution, self.info.fps, audio_from=audio))
            self.writers[face.track] = writer
        image = face.image
        if self.compare:
            import cv2

            low = cv2.resize(face.crop, (self.resolution,) * 2, interpolation=cv2.INTER_NEAREST)
            image = np.concatenate([low, face.image], axis=1)
        writer.write(image)
        if face.frame == track.last:
            self.close(writer)
            del self.writers[face.track]

    def close(self, writer) -> None:
        writer.close()
        self.finished.append(Path(writer.path))

    def finish(self) -> None:
        for writer in list(self.writers.values()):
            self.close(writer)
        self.writers.clear()
        if self.overlay is not None:
            self.close(self.overlay)

    def discard(self) -> None:
        for path in self.finished:
            _remove(path)


def enhance_video(
    path: str | os.PathLike,
    outdir: str | os.PathLike,
    *,
    weights: str | os.PathLike | None = None,
    mode: str = "both",
    audio: str | os.PathLike | None = None,
    use_audio: bool = True,
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
    - ``face_range`` (min, max): the face sizes (px, the width of the detector's box,
      median over the track) that are replaced; default :func:`default_face_range`.
      Faces are cropped as the training faces were (:func:`training_crop_box`).
    - ``smooth``: seconds of the triangular moving average of z_f along each track (0: off).
    - ``scale``: default :func:`default_scale`. ``batch``: faces per model call.
    - ``device``: "auto" (a GPU if there is one), "cpu", "cuda..."; ``half``: bf16/fp16
      autocast. ``model`` / ``detector``: already loaded ones (:func:`enhance_many`).

    User errors raise :class:`vidsr.errors.VidsrError`; then nothing of this run is left.
    """
    import torch

    from vidsr.faces import crop_face, iter_tracked_frames, track_video, training_crop_box
    from vidsr.faces.crop import TRAINING_CROP_SCALE
    from vidsr.media import SAMPLE_RATE, load_audio, probe
    from vidsr.weights import resolve_weights

    started = time.perf_counter()
    clock = _Clock()
    warnings: list[str] = []
    warn = warn or _warn_stderr

    def warning(message: str) -> None:
        warnings.append(message)
        warn(message)

    check_options(mode=mode, batch=batch, detect_every=detect_every, smooth=smooth, scale=scale, face_range=face_range)
    path = os.fspath(path)
    info = probe(path)  # MediaError for anything that is not a readable video
    if info.fps <= 0:
        raise MediaError(f"'{path}' has no frame rate")
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise VidsrError(f"cannot create output folder '{outdir}': {e.strerror or e}") from None
    stem = Path(path).stem
    report_path = outdir / f"{stem}.report.json"
    if any(Path(path).resolve() == (outdir / name).resolve() for name in (report_path.name, f"{stem}.overlay.mp4")):
        raise VidsrError(f"'{path}' would be overwritten by its own output; choose another output folder")

    if model is None:
        weights = resolve_weights(weights)
        model = load_model(weights, device)
    dev = _model_device(model)
    autocast = _autocast_factory(dev, half)
    lowres, resolution = model.preset.lowres, model.preset.resolution
    lo, hi = face_range if face_range is not None else default_face_range(lowres)

    # The voice a: this video's, another file's, or none (E_l only).
    voice, voice_source = None, None
    if use_audio:
        with clock("audio"):
            try:
                wave = load_audio(audio if audio is not None else path)
                voice_source = os.fspath(audio) if audio is not None else "own"
            except NoAudioError:
                if audio is not None:
                    raise
                wave = None
                warning(f"'{path}' has no audio track: enhancing from the picture alone (E_l only)")
        if wave is not None:
            if audio is not None and len(wave) / SAMPLE_RATE < info.duration - 0.5:
                warning(f"the voice in '{audio}' ({len(wave) / SAMPLE_RATE:.1f} s) is shorter than the video "
                        f"({info.duration:.1f} s): later frames get silence")
            voice = _Voice(wave, model, dev, autocast, clock)
            del wave

    # Pass 1: find and follow the faces (constant memory: one frame at a time).
    if detector is None:
        detector = make_detector(dev, face_range)
    with clock("decode"):
        tracks = track_video(path, detect_every=detect_every, detector=_TimedDetector(detector, clock),
                             progress=(lambda d, t: progress("tracking", d, t)) if progress else None)
    clock.seconds["decode"] -= clock.seconds["detect"]
    sizes = {t.id: _track_size(t) for t in tracks}
    chosen = {t.id: t for t in tracks if lo <= sizes[t.id] <= hi}
    if not tracks:
        warning(f"no faces found in '{path}'")
    elif not chosen:
        warning(f"none of the {len(tracks)} face track(s) in '{path}' is {lo:g}-{hi:g} px "
                f"(sizes {', '.join(f'{s:.0f}' for s in sizes.values())}); nothing to enhance (see --face-range)")

    if scale is None:
        sides = [(b[2] - b[0]) * TRAINING_CROP_SCALE for t in chosen.values() for b in t.boxes]
        scale = default_scale(info.width, info.height, resolution, sides)
    out_w, out_h = max(2, round(info.width * scale)), max(2, round(info.height * scale))
    sx, sy = out_w / info.width, out_h / info.height
    radius = int(round(smooth * info.fps)) // 2
    weights_j = _smoothing_weights(radius)

    counts = {"frames": 0, "frames_enhanced": 0, "frames_without_faces": 0, "faces_enhanced": 0, "faces_outside_range": 0}
    flicker = {tid: _Flicker() for tid in chosen}
    history: dict[int, dict[int, object]] = {tid: {} for tid in chosen}  # z_f by frame, per track
    frame_bytes = info.width * info.height * 3
    max_frames = max(2 * radius + 8, min(batch + 2 * radius, BUFFER_BYTES // max(frame_bytes, 1)))

    def encode(faces: list[_Face]) -> None:
        """z_f = z_l + F(z_l, z_a) for faces, in batches."""
        for i in range(0, len(faces), batch):
            chunk = faces[i:i + batch]
            x_l = torch.from_numpy(np.stack([f.crop for f in chunk])).to(dev)
            x_l = x_l.permute(0, 3, 1, 2).float() / 127.5 - 1
            z_a = voice.codes([f.time for f in chunk]) if voice is not None else None
            with clock("model"), autocast():
                z = model.fuse(model.encode_lowres(x_l).float(), z_a).float()
            for f, zf in zip(chunk, z):
                f.z = zf
                history[f.track][f.frame] = zf

    def smoothed(face: _Face):
        """z~_f: the weighted mean of z_f over the track's frames within the radius."""
        if radius == 0:
            return face.z
        codes = history[face.track]
        frames = [g for g in range(face.frame - radius, face.frame + radius + 1) if g in codes]
        w = torch.tensor(weights_j[[g - face.frame + radius for g in frames]], device=dev)
        z = torch.stack([codes[g] for g in frames])
        return (w[:, None, None] * z).sum(0) / w.sum()

    def generate(faces: list[_Face]) -> None:
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
    pending: deque[tuple[object, list[_Face]]] = deque()
    with contextlib.ExitStack() as stack:
        out = _Outputs(stack, path, outdir, stem, info, chosen, resolution, compare,
                       audio_cut=info.has_audio and mode != "overlay")
        try:
            if chosen and mode in ("both", "overlay"):
                outputs_written["overlay"] = out.open_overlay((out_w, out_h)).name

            def render(frame, faces: list[_Face]) -> None:
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
                        sq = training_crop_box(box)
                        faces.append(_Face(tid, frame.index, frame.time, sq, crop_face(frame.image, sq, lowres)))
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
        counts["frames"] = info.num_frames
    counts["frames_without_faces"] = max(0, counts["frames"] - _frames_covered(tracks))
    counts["frames_enhanced"] = _frames_covered(chosen.values())
    counts["faces_enhanced"] = sum(len(t.frames) for t in chosen.values())
    counts["faces_outside_range"] = sum(len(t.frames) for t in tracks if t.id not in chosen)

    track_rows = []
    for t in tracks:
        row = {"id": t.id, "first_frame": t.first, "last_frame": t.last, "frames": len(t.frames),
               "size_px": round(sizes[t.id], 1), "enhanced": t.id in chosen}
        if t.id in chosen:
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
        "settings": {"mode": mode, "voice": voice_source, "scale": scale,
                     "output_size": [out_w // 2 * 2, out_h // 2 * 2],  # H.264 (yuv420p) needs even sizes
                     "inset": inset, "compare": compare, "face_range": [lo, hi if hi < float("inf") else None],
                     "smooth_s": smooth,
                     "smooth_frames": 2 * radius + 1, "detect_every": detect_every, "device": str(dev),
                     "half": half, "batch": batch, "crop": "training_crop_box"},
        "input": {"width": info.width, "height": info.height, "fps": info.fps, "duration": info.duration,
                  "has_audio": info.has_audio},
        **counts,
        "tracks_found": len(tracks),
        "tracks_enhanced": len(chosen),
        "flicker": {"raw": mean_flicker("total_raw"), "smoothed": mean_flicker("total"),
                    "unit": "mean |change| between consecutive faces of a track, 0-255"},
        "timings_s": _timings(clock, time.perf_counter() - started),
        "warnings": warnings,
        "tracks": track_rows,
    }
    from vidsr.cli.detect import write_json_atomic

    try:
        write_json_atomic(report_path, report)
    except BaseException:
        out.discard()
        raise
    return report


# -- many videos -----------------------------------------------------------------------------


def expand_inputs(inputs: Iterable[str | os.PathLike], extensions: frozenset[str] = VIDEO_EXTENSIONS) -> list[Path]:
    """Files as given, folders searched (recursively) for ``extensions``, globs expanded,
    "a.mp4,b.mp4" split; in order, without repeats. A name that is none of these is
    kept (it fails later, with its own message)."""
    found: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in extensions)
        elif not p.exists() and glob.has_magic(str(item)):
            found += expand_inputs(sorted(glob.glob(str(item), recursive=True)), extensions)
        elif not p.exists() and "," in str(item):
            found += expand_inputs([part for part in str(item).split(",") if part], extensions)
        else:
            found.append(p)
    return list(dict.fromkeys(found))


def _output_folders(files: list[Path], outdir: Path) -> list[Path]:
    """One subfolder per file, named by its stem (-2, -3, ... for repeated stems)."""
    seen: dict[str, int] = {}
    folders = []
    for f in files:
        n = seen[f.stem] = seen.get(f.stem, 0) + 1
        folders.append(outdir / (f.stem if n == 1 else f"{f.stem}-{n}"))
    return folders


def enhance_many(
    inputs: Iterable[str | os.PathLike],
    outdir: str | os.PathLike,
    *,
    on_file: Callable[[int, int, Path, dict | None], None] | None = None,
    weights: str | os.PathLike | None = None,
    device: str = "auto",
    face_range: tuple[float, float] | None = None,
    **options,
) -> list[dict]:
    """:func:`enhance_video` for every video of ``inputs`` (files, folders, globs), each
    into ``outdir/<stem>/``, with the model and the detector loaded once.

    A file whose report already exists is skipped (so an interrupted run resumes); a file
    that fails (:class:`VidsrError`) is reported and the others go on. ``on_file(i, n,
    path, result)`` is called before (result None) and after each file. Returns one dict
    per file: input, folder, status ("ok", "no faces", "skipped", "failed"), message,
    tracks, frames, seconds, report (the report's path).
    """
    from vidsr.weights import resolve_weights

    check_options(face_range=face_range, **options)
    if options.get("audio") is not None:
        from vidsr.media.probe import check_readable

        check_readable(options["audio"])
    outdir = Path(outdir)
    # Our own outputs are not inputs (an output folder inside an input folder).
    files = [f for f in expand_inputs(inputs) if outdir.resolve() not in f.resolve().parents]
    if not files:
        raise VidsrError("no videos found in the given inputs")
    weights = resolve_weights(weights)
    model = load_model(weights, device)
    dev = _model_device(model)
    detector = make_detector(dev, face_range)
    results = []
    for i, (f, folder) in enumerate(zip(files, _output_folders(files, outdir))):
        if on_file:
            on_file(i, len(files), f, None)
        report_path = folder / f"{f.stem}.report.json"
        result = {"input": str(f), "folder": str(folder), "status": "skipped", "message": "",
                  "tracks": None, "frames": None, "seconds": 0.0, "report": str(report_path)}
        started = time.perf_counter()
        if report_path.exists():
            result["message"] = "already done (its report exists)"
        else:
            try:
                report = enhance_video(f, folder, model=model, detector=detector, face_range=face_range,
                                       weights=weights, **options)
            except VidsrError as e:
                result.update(status="failed", message=str(e))
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if this run left it empty
            else:
                result.update(status=report["status"], tracks=report["tracks_enhanced"], frames=report["frames"],
                              message="; ".join(report["warnings"]))
        result["seconds"] = round(time.perf_counter() - started, 2)
        results.append(result)
        if on_file:
            on_file(i, len(files), f, result)
        gc.collect()
    return results


# -- single images: the demo strip and the mixing grid -----------------------------------------


def face_input(rgb: np.ndarray, model):
    """A face picture -> (its R x R high-res tile or None, x_l [1, 3, l, l] in [-1, 1]).

    A picture at least 2l px on its shorter side is a high-res face: its centre square is
    resized to R and reduced by D (bicubic, :meth:`FaceSR.lowres`) to l x l, as in the
    authors' demo. A smaller one is a tiny face: its centre square is the input itself.
    """
    from vidsr.data.utkface import center_square
    from vidsr.faces import resize_image
    from vidsr.imaging import from_uint8

    l, r = model.preset.lowres, model.preset.resolution
    square = np.ascontiguousarray(center_square(rgb))
    dev = _model_device(model)
    if min(rgb.shape[:2]) >= 2 * l:
        high = np.array(resize_image(square, r))  # writable, for torch
        return high, model.lowres(from_uint8(high)[None].to(dev))
    return None, from_uint8(np.array(resize_image(square, l)))[None].to(dev)


def voice_code(path: str | os.PathLike, model):
    """z_a = E_a(a) [1, k, d] for the 4 s of voice in the middle of ``path`` (sound or video)."""
    from vidsr.audio import log_spectrogram, window_at
    from vidsr.media import SAMPLE_RATE, load_audio

    wave = load_audio(path)
    spec = log_spectrogram(window_at(wave, len(wave) / SAMPLE_RATE / 2))[None]
    return model.encode_audio(spec.to(_model_device(model)))


def _tile(image: np.ndarray | None, size: int) -> np.ndarray:
    """An RGB picture as a size x size tile (nearest when enlarging, for low-res inputs);
    white for None."""
    import cv2

    if image is None:
        return np.full((size, size, 3), 255, np.uint8)
    interp = cv2.INTER_NEAREST if image.shape[0] < size else cv2.INTER_AREA
    return cv2.resize(np.ascontiguousarray(image), (size, size), interpolation=interp)


def enhance_face(rgb: np.ndarray, model, voice=None) -> tuple[np.ndarray, list[str]]:
    """One face picture through the model, as an RGB strip of R x R tiles and their names.

    High-res face: [high-res | low-res input (nearest) | E_l only | fused], the authors'
    demo (the fused tile only with a ``voice``, z_a from :func:`voice_code`). Tiny face:
    just the result, G(z_f) (or G(z_l) without a voice).
    """
    import torch

    from vidsr.imaging import to_uint8

    r = model.preset.resolution
    with torch.inference_mode():
        high, x_l = face_input(rgb, model)
        z_l = model.encode_lowres(x_l)
        alone = to_uint8(model.generate(z_l))[0]
        fused = to_uint8(model.generate(model.fuse(z_l, voice)))[0] if voice is not None else None
    if high is None:
        return (fused if fused is not None else alone), ["fused" if fused is not None else "E_l only"]
    tiles = [high, _tile(to_uint8(x_l)[0], r), alone] + ([fused] if fused is not None else [])
    names = ["high-res", "low-res input", "E_l only"] + (["fused"] if fused is not None else [])
    return np.concatenate(tiles, axis=1), names


def mix_faces(faces: list[np.ndarray], voices: list, model, voice_faces: list[np.ndarray] | None = None,
              pad: int = 2) -> np.ndarray:
    """The paper's Fig. 5: one row per face, one column per voice.

    Row i: [face i | its low-res input (nearest) | G(E_l(x_l,i) + F(E_l(x_l,i), z_a,j)) for
    each voice code z_a,j (:func:`voice_code`)]. ``voice_faces``: the voices' own faces,
    drawn as a first row above their columns. Tiles are R x R with ``pad`` px of white.
    """
    import torch

    from vidsr.data.utkface import center_square
    from vidsr.imaging import from_uint8, grid, to_uint8

    r = model.preset.resolution
    rows = []
    if voice_faces:
        rows.append([_tile(None, r), _tile(None, r)] + [_tile(center_square(v), r) for v in voice_faces])
    with torch.inference_mode():
        for rgb in faces:
            high, x_l = face_input(rgb, model)
            low = _tile(to_uint8(x_l)[0], r)
            z_l = model.encode_lowres(x_l)
            z_f = torch.cat([model.fuse(z_l, z_a) for z_a in voices]) if voices else z_l[:0]
            mixed = list(to_uint8(model.generate(z_f))) if voices else []
            rows.append([high if high is not None else low, low] + mixed)
    tiles = np.stack([t for row in rows for t in row])
    return grid(from_uint8(tiles), nrow=len(rows[0]), pad=pad)
