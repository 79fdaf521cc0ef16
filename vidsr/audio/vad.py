"""Voice activity detection: where a sound track holds speech.

The detector is Silero VAD (MIT), whose TorchScript model ships inside the `silero-vad`
wheel: it is loaded from the installed package's files, nothing is downloaded. It reads
16 kHz audio in windows of 512 samples (32 ms) and gives each a speech probability;
:func:`find_speech` turns those into stretches of speech (start, end seconds) with the
hysteresis of Silero's own ``get_speech_timestamps`` (a stretch starts at a window of
probability >= THRESHOLD and ends after MIN_SILENCE s below THRESHOLD - 0.15; stretches
shorter than MIN_SPEECH s are dropped, the others padded by PAD s).

The sound is streamed (:class:`vidsr.media.AudioStream`), so memory does not grow with
its length beyond one number per window: the loudness that :func:`envelope` reads.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import warnings
from dataclasses import dataclass

import numpy as np

from vidsr.errors import VidsrError
from vidsr.media.audio import SAMPLE_RATE, AudioStream

WINDOW = 512  # samples per VAD decision (Silero's window at 16 kHz): 32 ms
THRESHOLD = 0.5  # speech probability that starts a stretch
NEG_THRESHOLD = THRESHOLD - 0.15  # ... and below which silence is counted
MIN_SPEECH = 0.25  # s: shorter stretches are dropped
MIN_SILENCE = 0.3  # s: a shorter pause does not end a stretch
PAD = 0.03  # s: added to both ends of every stretch
READ = 32 * WINDOW  # samples read from the stream at a time (about 1 s)
ENERGY_EPS = 1e-6  # floor of the mean square in envelope()'s log


@functools.lru_cache(maxsize=1)
def load_vad():
    """The Silero VAD TorchScript model, from the `silero-vad` package's own files.

    The package is found without importing it (its import sets torch's thread count)."""
    import torch

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise VidsrError("voice activity detection needs the silero-vad package (pip install silero-vad)")
    path = os.path.join(spec.submodule_search_locations[0], "data", "silero_vad.jit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated, still works
        model = torch.jit.load(path, map_location="cpu")
    return model.eval()


@dataclass
class Speech:
    """Where a sound track speaks: ``stretches`` [(start, end)] in seconds, in order, and
    ``energy``: the mean square of every WINDOW-sample window of the track."""

    stretches: list[tuple[float, float]]
    energy: np.ndarray

    @property
    def seconds(self) -> float:
        return sum(e - s for s, e in self.stretches)


def _stretches(probs: np.ndarray, samples: int) -> list[tuple[float, float]]:
    """Silero's hysteresis over per-window speech probabilities (see the module doc)."""
    w = WINDOW / SAMPLE_RATE
    found: list[tuple[float, float]] = []
    start, silent_since = None, None
    for i, p in enumerate(probs):
        if start is None:
            if p >= THRESHOLD:
                start, silent_since = i, None
            continue
        if p >= THRESHOLD:
            silent_since = None
        elif p < NEG_THRESHOLD:
            silent_since = i if silent_since is None else silent_since
            if (i + 1 - silent_since) * w >= MIN_SILENCE:
                found.append((start * w, silent_since * w))
                start, silent_since = None, None
    if start is not None:
        found.append((start * w, (silent_since if silent_since is not None else len(probs)) * w))
    end = samples / SAMPLE_RATE
    return [(round(max(0.0, s - PAD), 3), round(min(end, e + PAD), 3)) for s, e in found if e - s >= MIN_SPEECH]


def find_speech(stream: AudioStream) -> Speech:
    """The stretches of speech of the whole track of ``stream`` (read from its start, READ
    samples at a time), and its per-window energy."""
    import torch

    model = load_vad()
    model.reset_states()
    probs, energy = [], []
    start = 0
    with torch.no_grad():
        while stream.length is None or start < stream.length:
            block = stream.samples(start, start + READ)
            if stream.length is not None:
                block = block[: max(0, stream.length - start)]
            n = len(block) // WINDOW * WINDOW
            if n == 0:
                break
            windows = torch.from_numpy(np.ascontiguousarray(block[:n])).view(-1, WINDOW)
            probs.append(np.array([float(model(w[None], SAMPLE_RATE)) for w in windows], np.float32))
            energy.append(windows.square().mean(1).numpy())
            start += n
    model.reset_states()
    energy_all = np.concatenate(energy) if energy else np.zeros(0, np.float32)
    probs_all = np.concatenate(probs) if probs else np.zeros(0, np.float32)
    return Speech(_stretches(probs_all, start), energy_all.astype(np.float32))


def envelope(speech: Speech, times: np.ndarray, half: float = 0.04) -> np.ndarray:
    """The loudness of the track at ``times`` (s): log of the mean energy of the windows
    within ``half`` s of each time (ENERGY_EPS where there is no sound)."""
    times = np.asarray(times, np.float64)
    w = WINDOW / SAMPLE_RATE
    cum = np.concatenate([[0.0], np.cumsum(speech.energy, dtype=np.float64)])
    lo = np.clip(np.floor((times - half) / w).astype(int), 0, len(speech.energy))
    hi = np.clip(np.ceil((times + half) / w).astype(int), 0, len(speech.energy))
    mean = np.where(hi > lo, (cum[hi] - cum[lo]) / np.maximum(hi - lo, 1), 0.0)
    return np.log(mean + ENERGY_EPS)
