"""Reading a file's sound track as a waveform (whole, or streamed), and writing WAV files."""

from __future__ import annotations

import os
import sys

import ffmpeg
import numpy as np
import soundfile

from vidsr.errors import MediaError, NoAudioError
from vidsr.files import atomic_path
from vidsr.media.ffmpeg import FFmpegProcess, ProcessReader, file_arg, run_ffmpeg
from vidsr.media.probe import check_readable

SAMPLE_RATE = 16000
CHUNK_SAMPLES = SAMPLE_RATE  # AudioStream reads 1 s of samples at a time

# What ffmpeg says when "-map 0:a:0" finds nothing.
_NO_STREAM = ("matches no streams", "does not contain any stream")


def _decode_args(path: str, sr: int) -> list[str]:
    """ffmpeg arguments that write the first audio track of ``path`` to stdout as
    16-bit mono at ``sr`` Hz: ffmpeg decodes, down-mixes and resamples in one go."""
    return (
        ffmpeg.input(file_arg(path))["a:0"]
        .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=sr)
        .get_args()
    )


def _to_float(raw: bytes) -> np.ndarray:
    """16-bit samples as float32 in [-1, 1]."""
    return np.frombuffer(raw, np.int16).astype(np.float32) / 32768.0


def _no_track(path: str, error: MediaError) -> MediaError:
    """``error`` (ffmpeg could not decode the sound of ``path``), or NoAudioError where
    the reason is that ``path`` has no audio track."""
    if any(text in str(error) for text in _NO_STREAM):
        return NoAudioError(f"'{path}' has no audio track")
    return error


def load_audio(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The first audio track of ``path`` as float32 mono in [-1, 1] at ``sr`` Hz.

    ffmpeg decodes, down-mixes and resamples in one go. Raises NoAudioError if the file
    has no audio track, MediaError if it cannot be read. The whole track is held in
    memory (about 230 MB per hour at 16 kHz); :class:`AudioStream` reads it piece by piece.
    """
    path = check_readable(path)
    try:
        out = run_ffmpeg(_decode_args(path, sr), what=f"cannot read audio of '{path}'")
    except MediaError as e:
        raise _no_track(path, e) from None
    return _to_float(out)


def padded(wave: np.ndarray, offset: int, start: int, stop: int) -> np.ndarray:
    """Samples ``start`` to ``stop`` of a track of which ``wave`` holds the samples from
    index ``offset`` on, as float32; zeros wherever ``wave`` has none (before the track,
    after its end, or outside what ``wave`` holds)."""
    out = np.zeros(stop - start, dtype=np.float32)
    lo, hi = max(start, offset), min(stop, offset + len(wave))
    if hi > lo:
        out[lo - start : hi - start] = wave[lo - offset : hi - offset]
    return out


class AudioStream(ProcessReader):
    """The first audio track of a file, decoded by ffmpeg on a pipe as it is read.

    ``samples(start, stop)`` gives the same values as ``load_audio(path)[start:stop]``,
    with zeros for indices before 0 or past the end of the track, but only the span last
    asked for (and at most ``chunk`` samples read ahead) is kept, so memory does not grow
    with the track's length. Reading goes forward: a span that starts before the start of
    the previous one decodes the track again from its beginning (correct, but slow).

    ffmpeg starts at the first read and stops at the end of the track, at :meth:`close`,
    or on leaving a ``with`` block. Reading raises NoAudioError if the file has no audio
    track and MediaError if it cannot be decoded, as :func:`load_audio` does.
    """

    def __init__(self, path: str | os.PathLike, sr: int = SAMPLE_RATE, chunk: int = CHUNK_SAMPLES):
        if chunk < 1:
            raise ValueError(f"chunk must be >= 1 samples, got {chunk}")
        self.path = check_readable(path)
        self.sr, self.chunk = sr, chunk
        self.length: int | None = None  # samples in the track, once its end has been read
        self._restart()

    def _restart(self) -> None:
        """Back to the start of the track (ffmpeg starts again at the next read)."""
        self.close()
        self._buffer = np.zeros(0, np.float32)
        self._offset = 0  # the track index of _buffer[0]
        self._done = False  # the read has reached the end of the track

    def samples(self, start: int, stop: int) -> np.ndarray:
        """Samples ``start`` to ``stop`` (indices at ``sr`` Hz; either may lie outside the
        track) as float32 in [-1, 1]."""
        self._advance(max(start, 0), stop)
        return padded(self._buffer, self._offset, start, stop)

    def total(self) -> int:
        """The track's length in samples; decodes it to the end (keeping nothing) if that
        is not known yet."""
        if self.length is None:
            self._advance(sys.maxsize, sys.maxsize)
        return self.length

    def _advance(self, keep_from: int, stop: int) -> None:
        """Decode until sample ``stop`` (or the end of the track) is in the buffer, keeping
        nothing before ``keep_from``."""
        if keep_from < self._offset:
            self._restart()
        self._drop_before(keep_from)
        while not self._done and self._offset + len(self._buffer) < stop:
            self._buffer = np.concatenate([self._buffer, self._read()])
            self._drop_before(keep_from)

    def _drop_before(self, index: int) -> None:
        n = min(max(index - self._offset, 0), len(self._buffer))
        if n:
            self._buffer = self._buffer[n:]
            self._offset += n

    def _read(self) -> np.ndarray:
        """Up to ``chunk`` more samples; none at the end of the track, where ffmpeg ends."""
        if self._process is None:
            self._process = FFmpegProcess(["-loglevel", "error", *_decode_args(self.path, self.sr)], stdout=True)
        stdout = self._process.proc.stdout
        raw = stdout.read(2 * self.chunk)
        if not raw:
            process, self._process = self._process, None
            if process.wait() != 0:
                raise _no_track(self.path, MediaError(f"cannot read audio of '{self.path}': {process.error_reason()}"))
            self._done = True
            self.length = self._offset + len(self._buffer)
        elif len(raw) % 2:
            raw += stdout.read(1)  # whole samples only
        return _to_float(raw[: len(raw) // 2 * 2])


def audio_length(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> int:
    """How many samples ``load_audio(path, sr)`` would return, counted as ffmpeg decodes
    the track (nothing is kept). Raises as :func:`load_audio` does."""
    with AudioStream(path, sr) as stream:
        return stream.total()


def save_wav(path: str | os.PathLike, wave: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """Write ``wave`` ([N] mono or [N, channels]; float in [-1, 1] or int16) as 16-bit WAV.

    The file is written next to ``path`` under a temporary name and then renamed, so
    ``path`` is never left half-written.
    """
    path = os.fspath(path)
    wave = np.asarray(wave)
    if wave.dtype.kind == "f":
        wave = np.clip(wave, -1.0, 1.0)
    try:
        with atomic_path(path) as tmp:
            soundfile.write(str(tmp), wave, sr, subtype="PCM_16", format="WAV")
    except (OSError, soundfile.LibsndfileError) as e:
        raise MediaError(f"cannot write '{path}': {getattr(e, 'strerror', None) or e}") from None
