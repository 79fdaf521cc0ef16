"""The files one video's run writes: the overlay video and the per-track videos."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from vidsr.pipeline.tracks import Face


def _remove(path: str | os.PathLike) -> None:
    """Delete ``path`` if it exists."""
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


class Outputs:
    """The overlay video and the per-track videos of one run, written as frames are ready.

    Every writer is atomic; anything already finished is deleted again by :meth:`discard`
    when the run fails, so a failed video leaves no outputs behind. ``times``: every
    frame's timestamp (pass 1): the videos show each frame at its own time (a track's
    video from its first frame's), so a variable-frame-rate video stays in step with its
    sound.
    """

    def __init__(self, stack: contextlib.ExitStack, path: str, outdir: Path, stem: str, info,
                 tracks: dict, resolution: int, compare: bool, audio_cut: bool, times: list[float] | None = None):
        self.stack, self.path, self.outdir, self.stem, self.info = stack, path, outdir, stem, info
        self.tracks, self.resolution, self.compare, self.audio_cut = tracks, resolution, compare, audio_cut
        self.times = times or None
        self.writers: dict[int, object] = {}
        self.finished: list[Path] = []
        self.overlay = None

    def open_overlay(self, size: tuple[int, int], yuv: bool = False) -> Path:
        """The overlay's writer, of RGB frames of ``size``, or with ``yuv`` of I420 frames
        (of ``size`` made even)."""
        from vidsr.media import VideoWriter

        target = self.outdir / f"{self.stem}.overlay.mp4"
        if yuv:
            size = (size[0] // 2 * 2, size[1] // 2 * 2)
        self.overlay = self.stack.enter_context(
            VideoWriter(target, *size, self.info.fps, audio_from=self.path if self.info.has_audio else None,
                        times=self.times, pix_fmt="yuv420p" if yuv else "rgb24"))
        return target

    def track_name(self, track_id: int) -> str:
        return f"{self.stem}.track-{track_id}.mp4"

    def write_track(self, face: Face) -> None:
        from vidsr.media import VideoWriter

        track = self.tracks[face.track]
        writer = self.writers.get(face.track)
        if writer is None:
            audio = None
            if self.audio_cut:
                audio = self.outdir / f".{self.stem}.track-{face.track}.audio.partial.wav"
                self.stack.callback(_remove, audio)
                length = len(track.frames) / self.info.fps
                if self.times is not None and track.last < len(self.times):
                    length = self.times[track.last] - self.times[track.first] + 1 / self.info.fps
                _cut_audio(self.path, audio, face.time, length)
            width = self.resolution * (2 if self.compare else 1)
            times = None
            if self.times is not None and track.last < len(self.times):
                times = [t - self.times[track.first] for t in self.times[track.first:track.last + 1]]
            writer = self.stack.enter_context(VideoWriter(
                self.outdir / self.track_name(face.track), width, self.resolution, self.info.fps, audio_from=audio,
                times=times))
            self.writers[face.track] = writer
        image = face.image
        if self.compare:
            from vidsr.imaging import resize

            low = resize(face.crop, self.resolution, "nearest")
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
