"""4-second audio windows around video timestamps, and their cached spectrograms.

Each video frame at time t gets the spectrogram of the 4 s of audio centred on t.
Neighbouring frames share almost all of that audio, so :class:`AudioWindows` snaps t to
a grid (every ``hop`` seconds, 0.5 s by default) and computes each grid position once:
a 25 fps video then costs 2 spectrograms per second instead of 25.
:class:`StreamWindows` does the same over a sound track streamed from ffmpeg
(:class:`vidsr.media.AudioStream`), for tracks too long to hold in memory.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Iterable

import numpy as np
import torch

from vidsr.audio.spectrogram import WINDOW_SECONDS, log_spectrogram
from vidsr.media.audio import SAMPLE_RATE, AudioStream, padded


def window_span(t: float, sr: int = SAMPLE_RATE, seconds: float = WINDOW_SECONDS) -> tuple[int, int]:
    """The sample indices [start, stop) of the ``seconds`` centred on time ``t``: the
    window has ``round(seconds * sr)`` samples and starts half of that before sample
    ``round(t * sr)``."""
    length = int(round(seconds * sr))
    start = int(round(t * sr)) - length // 2
    return start, start + length


def window_at(
    wave: np.ndarray, t: float, sr: int = SAMPLE_RATE, seconds: float = WINDOW_SECONDS
) -> np.ndarray:
    """The ``seconds`` of ``wave`` centred on time ``t`` (in seconds), as float32.

    The window has ``round(seconds * sr)`` samples (64,000 by default) and starts half
    of that before sample ``round(t * sr)``; whatever falls outside the wave (near
    the start or the end, or beyond) is zeros.
    """
    wave = np.asarray(wave, dtype=np.float32).reshape(-1)
    return padded(wave, 0, *window_span(t, sr, seconds))


class _Windows:
    """The grid of window positions and the spectrogram cache of :class:`AudioWindows`
    and :class:`StreamWindows`; a subclass says where a window's samples come from."""

    def __init__(self, sr: int, hop: float, cache_size: int):
        if sr != SAMPLE_RATE:
            raise ValueError(f"the spectrogram needs {SAMPLE_RATE} Hz audio, got {sr} Hz")
        if hop < 0:
            raise ValueError(f"hop must be >= 0 seconds, got {hop}")
        if cache_size < 1:
            raise ValueError(f"cache_size must be >= 1, got {cache_size}")
        self.sr = sr
        self.hop = float(hop)
        self.cache_size = cache_size
        self.positions_computed = 0
        self._cache: OrderedDict[int, torch.Tensor] = OrderedDict()

    def _samples(self, t: float) -> np.ndarray:
        """The [64000] samples of the window centred on ``t``."""
        raise NotImplementedError

    @property
    def _step(self) -> float:
        return self.hop if self.hop > 0 else 1.0 / self.sr

    def _key(self, t: float) -> int:
        """The grid position of t: a multiple of hop, or a sample index if hop == 0."""
        return math.floor(t / self._step + 0.5)

    def center(self, t: float) -> float:
        """The time (seconds) the window used for ``t`` is centred on."""
        return self._key(t) * self._step

    def window(self, t: float) -> np.ndarray:
        """The [64000] samples used for time ``t``."""
        return self._samples(self.center(t))

    def spectrogram(self, t: float) -> torch.Tensor:
        """The [1, 257, 257] spectrogram for time ``t`` (see log_spectrogram)."""
        return self.spectrograms([t])[0]

    def spectrograms(self, times: Iterable[float]) -> torch.Tensor:
        """[B, 1, 257, 257] spectrograms for several times; new positions in one batch."""
        keys = [self._key(t) for t in times]
        found = {k: self._cache[k] for k in dict.fromkeys(keys) if k in self._cache}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            step = self._step
            waves = {k: self._samples(k * step) for k in sorted(missing)}  # in time order
            found.update(zip(missing, log_spectrogram(np.stack([waves[k] for k in missing]))))
            self.positions_computed += len(missing)
        for k in dict.fromkeys(keys):  # most recently used last; drop the oldest
            self._cache[k] = found[k]
            self._cache.move_to_end(k)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return torch.stack([found[k] for k in keys])


class AudioWindows(_Windows):
    """Spectrograms of the windows of one sound track, computed once per position.

    ``hop`` (seconds): ``spectrogram(t)`` uses the window centred on the multiple of
    ``hop`` nearest to t; ``hop=0`` uses the window centred exactly on t (to the
    sample). At most ``cache_size`` spectrograms (260 KB each) are kept, least
    recently used first out. ``positions_computed`` counts the spectrograms computed.
    """

    def __init__(
        self,
        wave: np.ndarray,
        sr: int = SAMPLE_RATE,
        hop: float = 0.5,
        cache_size: int = 64,
    ):
        super().__init__(sr, hop, cache_size)
        if isinstance(wave, torch.Tensor):
            wave = wave.detach().cpu().numpy()
        self.wave = np.asarray(wave, dtype=np.float32).reshape(-1)

    @property
    def duration(self) -> float:
        return len(self.wave) / self.sr

    def _samples(self, t: float) -> np.ndarray:
        return window_at(self.wave, t, self.sr)


class StreamWindows(_Windows):
    """:class:`AudioWindows` over an :class:`vidsr.media.AudioStream`: the same
    spectrograms for the same times, but the sound track is never held whole, only the
    4 s being read (memory does not grow with its length).

    Ask for times in increasing order, as a video's frames come: a window that starts
    before the previous one makes the stream decode the track again from its start.
    :meth:`close` stops the stream's ffmpeg.
    """

    def __init__(self, stream: AudioStream, hop: float = 0.5, cache_size: int = 64):
        super().__init__(stream.sr, hop, cache_size)
        self.stream = stream

    def _samples(self, t: float) -> np.ndarray:
        return self.stream.samples(*window_span(t, self.sr))

    def close(self) -> None:
        self.stream.close()
