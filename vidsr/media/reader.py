"""Streaming the frames of a video out of ffmpeg, one at a time.

ffmpeg decodes to raw RGB on a pipe; Python reads exactly one frame's bytes at a time,
so memory stays flat however long the video is. Each frame's timestamp comes from the
``showinfo`` filter's ``pts_time`` on stderr (variable frame rate videos have no single
fps), read by a separate thread so neither pipe can fill up and stall ffmpeg.
"""

from __future__ import annotations

import os
import queue
import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from vidsr.errors import MediaError
from vidsr.media.ffmpeg import FFmpegProcess, ProcessReader, file_arg, fps_mode_args
from vidsr.media.probe import VideoInfo, probe

# "[Parsed_showinfo_1 @ 0x...] n:   0 pts:      0 pts_time:0       duration: ..."
_SHOWINFO = re.compile(r"\bn:\s*(\d+)\s+pts:\s*\S+\s+pts_time:\s*(\S+)")

# How long to wait for a frame's showinfo line once its pixels have arrived. ffmpeg
# logs it before writing the frame, so this only matters if the log thread lags.
_PTS_WAIT_S = 2.0


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # "NOPTS"
        return None


class _Timestamps:
    """Matches showinfo's ``n: ... pts_time: ...`` lines to frame indices.

    Falls back to ``index / fps`` for a frame without a usable line. If a line is ever
    late by more than ``_PTS_WAIT_S``, the log is taken to be unusable and later frames
    no longer wait for it.
    """

    def __init__(self, fps: float):
        self.fps = fps
        self.lines: queue.Queue[tuple[int, float | None]] = queue.Queue()
        self._pending: tuple[int, float | None] | None = None
        self._wait = _PTS_WAIT_S

    def on_line(self, line: str) -> None:
        """Called by the stderr thread for every line."""
        if "pts_time:" in line and (m := _SHOWINFO.search(line)):
            self.lines.put((int(m.group(1)), _float_or_none(m.group(2))))

    def time_of(self, index: int) -> float:
        fallback = index / self.fps if self.fps > 0 else 0.0
        while True:
            if self._pending is None:
                try:
                    self._pending = self.lines.get(timeout=self._wait)
                except queue.Empty:
                    self._wait = 0.0
                    return fallback
            n, t = self._pending
            if n > index:  # this frame's line is missing; keep the later one
                return fallback
            self._pending = None
            if n == index:
                return fallback if t is None else t


def _read_exactly(stream, image: np.ndarray) -> bool:
    """Fill ``image`` from ``stream``; False at the end of the stream."""
    view = memoryview(image).cast("B")
    filled = 0
    while filled < len(view):
        n = stream.readinto(view[filled:])
        if not n:
            return False
        filled += n
    return True


@dataclass
class Frame:
    """One decoded frame: ``image`` is HxWx3 uint8 RGB; ``time`` is in seconds."""

    index: int
    time: float
    image: np.ndarray


class VideoReader(ProcessReader):
    """Read the frames of a video file in order.

    >>> with VideoReader("clip.mp4", size=(128, 96)) as reader:
    ...     for frame in reader:
    ...         print(frame.index, frame.time, frame.image.shape)   # (96, 128, 3)

    ``size`` (width, height) makes ffmpeg resize the frames; by default they keep the
    video's own size (``reader.info``). Each ``for`` loop starts a fresh decode from
    the start; leaving the loop early or calling ``close()`` stops ffmpeg at once.
    """

    def __init__(self, path: str | os.PathLike, size: tuple[int, int] | None = None):
        self.info: VideoInfo = probe(path)
        self.path = self.info.path
        self.size = tuple(size) if size is not None else (self.info.width, self.info.height)
        if len(self.size) != 2 or min(self.size) <= 0:
            raise ValueError(f"size must be (width, height) with positive values, got {size!r}")
        self._process: FFmpegProcess | None = None

    def _args(self) -> list[str]:
        width, height = self.size
        return [
            "-i", file_arg(self.path),
            "-map", "0:v:0",
            # Always scale to the size we expect, so the byte count per frame is certain.
            "-vf", f"scale={width}:{height},showinfo",
            *fps_mode_args(),
            "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
        ]  # fmt: skip

    def __iter__(self) -> Iterator[Frame]:
        self.close()
        timestamps = _Timestamps(self.info.fps)
        process = FFmpegProcess(self._args(), stdout=True, on_line=timestamps.on_line)
        self._process = process
        width, height = self.size
        try:
            index = 0
            while True:
                image = np.empty((height, width, 3), np.uint8)
                if not _read_exactly(process.proc.stdout, image):
                    break
                time = timestamps.time_of(index)
                yield Frame(index=index, time=time, image=image)
                index += 1
            code = process.wait()
            if code != 0:
                raise MediaError(f"cannot decode video '{self.path}': {process.error_reason()}")
        finally:
            process.kill()
            if self._process is process:
                self._process = None

    def __len__(self) -> int:
        """The estimated number of frames (see VideoInfo.num_frames)."""
        return self.info.num_frames
