"""Writing frames to an H.264 video, with the sound of another file, atomically.

Frames go to ffmpeg's stdin as raw RGB and are encoded into a hidden temporary file
next to the target (``.NAME.partial.mp4``). Only when everything has succeeded is the
original audio muxed in and the result renamed onto the target, so a crash, an
exception or a full disk never leaves a half-written video under the target's name.

The encoder is libx264 (yuv420p, ``-crf``, ``-preset veryfast``: half the CPU time of
x264's default ``medium`` on enlarged overlay frames, at the same crf), which the
imageio-ffmpeg binary includes. With an ffmpeg built without libx264 it falls back to the
native ``mpeg4`` encoder (MPEG-4 part 2, fixed quantiser ``-q:v 2``; ``crf`` is then ignored).

Frame times: by default frame i is shown at i / fps. Given ``times`` (the frames' own
timestamps, e.g. those :class:`vidsr.media.VideoReader` reads from a variable-frame-rate
video), each frame keeps its time exactly (to 1/90000 s), so the picture stays in step
with the sound copied from the source: ffmpeg's ``sendcmd`` sets ``setpts`` to each
frame's time as it passes. That needs ffmpeg 6.0 or newer (setpts's ``expr`` set by a
command, :func:`vidsr.media.ffmpeg.can_retime_frames`); with an older one the frames are
written at the constant rate (``times_kept`` is False).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from fractions import Fraction
from typing import Sequence

import numpy as np

from vidsr.errors import MediaError
from vidsr.media.ffmpeg import FFmpegProcess, can_retime_frames, encoders, file_arg, fps_mode_args, run_ffmpeg
from vidsr.media.probe import audio_codec, check_readable, read_info_text

# Audio codecs that mp4 players handle and that are therefore copied as they are;
# anything else (e.g. the MP2 of MPEG-1 files) is re-encoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})

PRESET = "veryfast"  # x264's speed preset (``medium``, its default, costs twice the CPU time)
TIME_BASE = 90000  # ticks per second of the frame times kept from ``times``
CFR_TOLERANCE = 1e-3  # s: frame times this close to i / fps are written at the constant rate


def video_codec_args(crf: int = 18, preset: str = PRESET) -> list[str]:
    """Encoder options: libx264 at ``crf`` and ``preset`` if available, else mpeg4."""
    if "libx264" in encoders():
        return ["-c:v", "libx264", "-preset", preset, "-crf", str(crf), "-pix_fmt", "yuv420p"]
    return ["-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p"]


def constant_rate(times: Sequence[float], fps: float) -> bool:
    """Whether frame i of ``times`` is shown at i / fps (within CFR_TOLERANCE)."""
    return all(abs(t - i / fps) <= CFR_TOLERANCE for i, t in enumerate(times))


def _filter_value(text: str) -> str:
    """``text`` quoted as a filter option's value inside a filter graph (both levels of
    ffmpeg's escaping: option values, then the graph)."""
    value = "'" + text.replace("\\", "\\\\").replace("'", "'\\''") + "'"  # level 1: the option
    return value.replace("\\", "\\\\").replace("'", "\\'").replace(",", "\\,").replace(";", "\\;") \
        .replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")  # level 2: the graph


def _timestamp_commands(times: Sequence[float], fps: float) -> str:
    """Temporary file of sendcmd commands: while frame i passes (arriving at i / fps), the
    ``setpts@keep`` filter's expression becomes its own time, in 1/TIME_BASE ticks."""
    fd, name = tempfile.mkstemp(prefix="vidsr-times-", suffix=".txt")
    tick = -1
    with os.fdopen(fd, "w") as f:
        for i, t in enumerate(times):
            tick = max(round(t * TIME_BASE), tick + 1)  # strictly increasing, even where the input's are not
            start, end = max(0.0, (i - 0.5) / fps), (i + 0.5) / fps
            f.write(f"{start:.9f}-{end:.9f} setpts@keep expr {tick};\n")
    return name


class VideoWriter:
    """Encode RGB frames into a video file.

    >>> with VideoWriter("out.mp4", 360, 288, fps=25, audio_from="in.mpg") as writer:
    ...     for image in images:          # HxWx3 uint8 RGB
    ...         writer.write(image)

    ``pix_fmt="yuv420p"``: frames come as I420 planes (even sizes only), which spares
    ffmpeg the conversion from RGB (a third of its CPU time on enlarged 2.7K frames:
    12.7 vs 8.3 s for 250 frames at ``veryfast``). ``times``: see the module's notes.

    yuv420p needs even sizes: an odd width or height loses its last column or row.
    ``audio_from``'s first audio track (if it has one) is added, starting with the first
    frame and cut to the video's length. If the ``with`` block raises, nothing is written.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        width: int,
        height: int,
        fps: float,
        audio_from: str | os.PathLike | None = None,
        crf: int = 18,
        *,
        times: Sequence[float] | None = None,
        preset: str = PRESET,
        pix_fmt: str = "rgb24",
    ):
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2, got {width}x{height}")
        if pix_fmt not in ("rgb24", "yuv420p"):
            raise ValueError(f"pix_fmt must be rgb24 or yuv420p, got {pix_fmt!r}")
        if pix_fmt == "yuv420p" and (width % 2 or height % 2):
            raise ValueError(f"yuv420p frames need an even size, got {width}x{height}")
        self.pix_fmt = pix_fmt
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = os.fspath(path)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.audio_from = check_readable(audio_from) if audio_from is not None else None
        self.frames_written = 0
        self.times = None if times is None or constant_rate(times, self.fps) else [float(t) for t in times]
        # An ffmpeg that cannot set each frame's time (5.1) writes them at the constant rate;
        # the caller warns (vidsr.pipeline.video.check_frame_times).
        self.times_kept = self.times is None or can_retime_frames()
        if not self.times_kept:
            self.times = None
        if self.times and self.times[0] < 0:  # a stream starting before 0: shifted to start there
            self.times = [t - self.times[0] for t in self.times]
        self._commands: str | None = None

        folder, name = os.path.split(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise MediaError(f"cannot write '{self.path}': folder '{folder}' does not exist")
        ext = os.path.splitext(name)[1] or ".mp4"
        self._partial = os.path.join(folder, f".{name}.partial{ext}")
        self._muxing = os.path.join(folder, f".{name}.muxing{ext}")
        self._format = [] if os.path.splitext(name)[1] else ["-f", "mp4"]

        rate = str(Fraction(self.fps).limit_denominator(1001))
        even_w, even_h = self.width // 2 * 2, self.height // 2 * 2
        filters = []
        if (even_w, even_h) != (self.width, self.height):
            filters.append(f"crop={even_w}:{even_h}:0:0")
        timing = []
        if self.times is not None:  # each frame at its own time (variable frame rate)
            self._commands = _timestamp_commands(self.times, self.fps)
            filters += [f"sendcmd=f={_filter_value(self._commands)}", f"settb=1/{TIME_BASE}", "setpts@keep=PTS"]
            timing = [*fps_mode_args(), "-enc_time_base", f"1:{TIME_BASE}", "-video_track_timescale", str(TIME_BASE)]
        crop = ["-vf", ",".join(filters)] if filters else []
        # Muxing the audio rewrites the file anyway; move the index to the front then.
        faststart = ["-movflags", "+faststart"] if self.audio_from is None else []
        args = [
            "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", pix_fmt,
            "-s", f"{self.width}x{self.height}", "-framerate", rate, "-i", "pipe:0",
            *crop, *video_codec_args(crf, preset), *timing,
            *faststart, *self._format, "-y", file_arg(self._partial),
        ]  # fmt: skip
        self._process: FFmpegProcess | None = None
        try:
            self._process = FFmpegProcess(args, stdin=True)
        except BaseException:  # interrupted as ffmpeg started (it may have created the partial): clean up
            self.abort()
            raise

    def write(self, image: np.ndarray) -> None:
        """Append one frame: HxWx3 uint8 RGB, or with ``pix_fmt="yuv420p"`` the planes
        Y, U, V one after the other ((H * 3 / 2) x W uint8, as OpenCV's I420)."""
        if self._process is None:
            raise ValueError("write() on a closed VideoWriter")
        expected = (self.height, self.width, 3) if self.pix_fmt == "rgb24" else (self.height * 3 // 2, self.width)
        if image.shape != expected or image.dtype != np.uint8:
            raise ValueError(
                f"expected a {expected} uint8 image, got {image.shape} {image.dtype}"
            )
        if self.times is not None and self.frames_written >= len(self.times):
            self.abort()
            raise MediaError(f"cannot write video '{self.path}': more frames than the {len(self.times)} "
                             "frame times given (the input decoded differently the second time?)")
        try:
            self._process.proc.stdin.write(np.ascontiguousarray(image).data)
        except OSError:  # ffmpeg has died: report why
            self._process.wait()
            reason = self._reason(self._process)
            self.abort()
            raise MediaError(f"cannot write video '{self.path}': {reason}") from None
        self.frames_written += 1

    def close(self) -> None:
        """Finish the video: encode, add the audio, and move it onto the target path."""
        if self._process is None:
            return
        if self.frames_written == 0:
            self.abort()
            raise MediaError(f"cannot write video '{self.path}': no frames were written")
        process = self._process
        try:
            process.proc.stdin.close()
        except OSError:
            pass
        code = process.wait()
        self._process = None
        if code != 0:
            reason = self._reason(process)
            self.abort()
            raise MediaError(f"cannot write video '{self.path}': {reason}")
        try:
            result = self._partial
            if self.audio_from is not None:
                self._mux_audio()
                result = self._muxing
            os.replace(result, self.path)
        except OSError as e:
            self.abort()
            raise MediaError(f"cannot write video '{self.path}': {e.strerror or e}") from None
        except BaseException:
            self.abort()
            raise
        self.abort()  # removes the partial file left over after muxing

    def _reason(self, process: FFmpegProcess) -> str:
        """ffmpeg's error, naming the target rather than the temporary file."""
        reason = process.error_reason().replace(file_arg(self._partial), self.path)
        return reason.replace(self._partial, self.path)

    def _mux_audio(self) -> None:
        """Copy the video and add ``audio_from``'s first audio track, cut to its length."""
        codec = audio_codec(read_info_text(self.audio_from))
        if codec is None:  # nothing to add
            os.replace(self._partial, self._muxing)
            return
        audio = ["-c:a", "copy"] if codec in MP4_AUDIO_CODECS else ["-c:a", "aac", "-b:a", "192k"]
        duration = self.frames_written / self.fps
        if self.times is not None:  # the last frame's time and its length
            duration = self.times[min(self.frames_written, len(self.times)) - 1] + 1 / self.fps
        run_ffmpeg(
            [
                "-i", file_arg(self._partial), "-i", file_arg(self.audio_from),
                "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *audio,
                "-t", f"{duration:.6f}", "-movflags", "+faststart",
                *self._format, "-y", file_arg(self._muxing),
            ],  # fmt: skip
            what=f"cannot add the audio of '{self.audio_from}' to '{self.path}'",
        )

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary files; the target is left untouched."""
        if self._process is not None:
            self._process.kill()
            self._process = None
        for tmp in (self._partial, self._muxing, self._commands):
            with contextlib.suppress(FileNotFoundError, TypeError):
                os.remove(tmp)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # A writer dropped without close() must not leave ffmpeg or temp files behind.
        try:
            if getattr(self, "_process", None) is not None:
                self.abort()
        except Exception:
            pass
