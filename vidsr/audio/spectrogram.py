"""The audio encoder's input: a normalised log power spectrogram of 4 s of speech.

The definition is the one of the paper's public demo (see shared/paper/README.md):

- 4.0 s of 16 kHz mono audio, i.e. exactly 64,000 samples;
- short-time Fourier transform with a 512-sample periodic Hann window, a 248-sample
  stride and no centring (no padding): (64000 - 512) / 248 + 1 = 257 frames, each
  with 512 / 2 + 1 = 257 frequency bins;
- power |STFT|^2, then log(power + 1e-6);
- min-max normalised over the whole clip and scaled to [-1, 1].

The result is frequency x time: row 0 is the DC bin, column 0 the first 32 ms.
A clip that is one constant value (e.g. digital silence) has max == min and maps to -1
everywhere.
"""

from __future__ import annotations

import numpy as np
import torch

from vidsr.media.audio import SAMPLE_RATE

WINDOW_SECONDS = 4.0
WINDOW_SAMPLES = 64000  # WINDOW_SECONDS * SAMPLE_RATE
N_FFT = 512
HOP = 248
N_BINS = N_FFT // 2 + 1  # 257 frequency rows
N_FRAMES = (WINDOW_SAMPLES - N_FFT) // HOP + 1  # 257 time columns
LOG_EPS = 1e-6

assert WINDOW_SAMPLES == int(WINDOW_SECONDS * SAMPLE_RATE)


def log_spectrogram(wave: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Normalised log power spectrogram(s) of 4 s windows of 16 kHz audio.

    ``wave``: one window, shape [64000], or a batch, shape [B, 64000] (numpy or torch;
    a tensor keeps its device). Returns float32 of shape [1, 257, 257] for one window
    or [B, 1, 257, 257] for a batch: (channel,) frequency, time, values in [-1, 1].
    """
    x = torch.as_tensor(wave, dtype=torch.float32)
    single = x.dim() == 1
    if single:
        x = x.unsqueeze(0)
    if x.dim() != 2 or x.shape[-1] != WINDOW_SAMPLES:
        raise ValueError(
            f"expected [{WINDOW_SAMPLES}] or [B, {WINDOW_SAMPLES}] samples, got {list(x.shape)}"
        )
    window = torch.hann_window(N_FFT, periodic=True, device=x.device)
    spec = torch.stft(
        x,
        n_fft=N_FFT,
        hop_length=HOP,
        win_length=N_FFT,
        window=window,
        center=False,
        return_complex=True,
    )  # [B, 257 bins, 257 frames]
    log_power = torch.log(spec.abs().square() + LOG_EPS)
    low = log_power.amin(dim=(1, 2), keepdim=True)
    high = log_power.amax(dim=(1, 2), keepdim=True)
    scaled = (log_power - low) / (high - low).clamp_min(1e-12) * 2.0 - 1.0
    scaled = scaled.unsqueeze(1)  # [B, 1, F, T]
    return scaled[0] if single else scaled
