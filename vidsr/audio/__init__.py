"""The paper's audio input: 4 s windows of 16 kHz speech as 257x257 log spectrograms."""

from vidsr.audio.spectrogram import (
    HOP,
    N_BINS,
    N_FFT,
    N_FRAMES,
    WINDOW_SAMPLES,
    WINDOW_SECONDS,
    log_spectrogram,
)
from vidsr.audio.windows import AudioWindows, StreamWindows, window_at, window_span

__all__ = [
    "HOP",
    "N_BINS",
    "N_FFT",
    "N_FRAMES",
    "WINDOW_SAMPLES",
    "WINDOW_SECONDS",
    "AudioWindows",
    "StreamWindows",
    "log_spectrogram",
    "window_at",
    "window_span",
]
