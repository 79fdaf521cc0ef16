"""Writing frames to an H.264 video, with the sound of another file, atomically.

Frames go to ffmpeg's stdin as raw RGB and are encoded into a hidden temporary file
next to the target (``.NAME.partial.mp4``). Only when everything has succeeded is the
original audio muxed in and the result renamed onto the target, so a crash, an
exception or a full disk never leaves a half-written video under the target's name.

The encoder is libx264 (yuv420p, ``-crf``), which the imageio-ffmpeg binary includes.
With an ffmpeg built without libx264 it falls back to the native ``mpeg4`` encoder
(MPEG-4 part 2, fixed quantiser ``-q:v 2``; ``crf`` is then ignored).
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction

import numpy as np

from vidsr.errors import MediaError
from vidsr.media.ffmpeg import FFmpegProcess, encoders, file_arg, run_ffmpeg
from vidsr.media.probe import audio_codec, check_readable, read_info_text

# Audio codecs that mp4 players handle and that are therefore copied as they are;
# anything else (e.g. the MP2 of MPEG-1 files) is re-encoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "ac3", "eac3"})


def video_codec_args(crf: int = 18) -> list[str]:
    """Encoder options: libx264 at ``crf`` if available, else mpeg4."""
    if "libx264" in encoders():
        return ["-c:v", "libx264", "-crf", str(crf), "-pix_fmt", "yuv420p"]
    return ["-c:v", "mpeg4", "-q:v", "2", "-pix_fmt", "yuv420p"]


class VideoWriter:
    """Encode RGB frames into a video file.

    >>> with VideoWriter("out.mp4", 360, 288, fps=25, audio_from="in.mpg") as writer:
    ...     for image in images:          # HxWx3 uint8 RGB
    ...         writer.write(image)

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
    ):
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2, got {width}x{height}")
        if fps <= 0:
            raise ValueError(f"fps must be positive, got {fps}")
        self.path = os.fspath(path)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.audio_from = check_readable(audio_from) if audio_from is not None else None
        self.frames_written = 0

        folder, name = os.path.split(os.path.abspath(self.path))
        if not os.path.isdir(folder):
            raise MediaError(f"cannot write '{self.path}': folder '{folder}' does not exist")
        ext = os.path.splitext(name)[1] or ".mp4"
        self._partial = os.path.join(folder, f".{name}.partial{ext}")
        self._muxing = os.path.join(folder, f".{name}.muxing{ext}")
        self._format = [] if os.path.splitext(name)[1] else ["-f", "mp4"]

        rate = str(Fraction(self.fps).limit_denominator(1001))
        even_w, even_h = self.width // 2 * 2, self.height // 2 * 2
        crop = []
        if (even_w, even_h) != (self.width, self.height):
            crop = ["-vf", f"crop={even_w}:{even_h}:0:0"]
        # Muxing the audio rewrites the file anyway; move the index to the front then.
        faststart = ["-movflags", "+faststart"] if self.audio_from is None else []
        args = [
            "-loglevel", "error",
            "-f", "rawvideo", "-pix_fmt", "rgb24",
            "-s", f"{self.width}x{self.height}", "-framerate", rate, "-i", "pipe:0",
            *crop, *video_codec_args(crf),
            *faststart, *self._format, "-y", file_arg(self._partial),
        ]  # fmt: skip
        self._process: FFmpegProcess | None = FFmpegProcess(args, stdin=True)

    def write(self, image: np.ndarray) -> None:
        """Append one HxWx3 uint8 RGB frame."""
        if self._process is None:
            raise ValueError("write() on a closed VideoWriter")
        expected = (self.height, self.width, 3)
        if image.shape != expected or image.dtype != np.uint8:
            raise ValueError(
                f"expected a {expected} uint8 image, got {image.shape} {image.dtype}"
            )
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
        for tmp in (self._partial, self._muxing):
            with contextlib.suppress(FileNotFoundError):
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
