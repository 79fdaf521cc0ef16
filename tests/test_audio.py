"""vidsr.audio: the paper's 257x257 log spectrogram and the 4 s windows around frames."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
import torch

from conftest import GRID, needs_shared
from vidsr.audio import (
    HOP,
    N_FFT,
    WINDOW_SAMPLES,
    WINDOW_SECONDS,
    AudioWindows,
    StreamWindows,
    log_spectrogram,
    window_at,
)
from vidsr.errors import NoAudioError
from vidsr.media import AudioStream, audio_length, load_audio, run_ffmpeg

SR = 16000


def reference_spectrogram(wave: np.ndarray) -> np.ndarray:
    """The same definition computed with librosa, independently of torch."""
    power = np.abs(librosa.stft(wave, n_fft=512, hop_length=248, window="hann", center=False)) ** 2
    log = np.log(power + 1e-6)
    return (log - log.min()) / (log.max() - log.min()) * 2 - 1


def chirp(seconds: float = 4.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(0)
    tone = 0.5 * np.sin(2 * np.pi * (200 + 400 * t) * t)
    return (tone + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def test_constants_match_the_paper():
    assert WINDOW_SECONDS == 4.0 and WINDOW_SAMPLES == 64000
    assert (N_FFT, HOP) == (512, 248)
    assert (WINDOW_SAMPLES - N_FFT) // HOP + 1 == 257


def test_shape_dtype_and_range():
    spec = log_spectrogram(chirp())
    assert spec.shape == (1, 257, 257) and spec.dtype == torch.float32
    assert spec.min().item() == pytest.approx(-1.0) and spec.max().item() == pytest.approx(1.0)


def test_equals_librosa():
    rng = np.random.default_rng(1)
    for wave in (chirp(), (0.1 * rng.standard_normal(WINDOW_SAMPLES)).astype(np.float32)):
        ours = log_spectrogram(wave)[0].numpy()
        np.testing.assert_allclose(ours, reference_spectrogram(wave), atol=1e-3)


def test_batch_matches_single_and_accepts_tensors():
    a, b = chirp(), chirp()[::-1].copy()
    batch = log_spectrogram(torch.from_numpy(np.stack([a, b])))
    assert batch.shape == (2, 1, 257, 257)
    torch.testing.assert_close(batch[0], log_spectrogram(a), atol=1e-5, rtol=0)
    torch.testing.assert_close(batch[1], log_spectrogram(torch.from_numpy(b)), atol=1e-5, rtol=0)


def test_axes_are_frequency_then_time():
    t = np.arange(WINDOW_SAMPLES) / SR
    wave = np.sin(2 * np.pi * 1000 * t).astype(np.float32)
    wave[: WINDOW_SAMPLES // 2] = 0  # sound only in the second half
    spec = log_spectrogram(wave)[0]
    assert spec[:, -1].argmax().item() == 1000 * N_FFT // SR  # bin 32 = 1 kHz
    assert spec[:, :100].mean() < spec[:, -100:].mean()


def test_silence_is_finite():
    spec = log_spectrogram(np.zeros(WINDOW_SAMPLES, np.float32))
    assert torch.isfinite(spec).all() and (spec == -1).all()


def test_wrong_length_is_rejected():
    with pytest.raises(ValueError, match="64000"):
        log_spectrogram(np.zeros(48000, np.float32))


def test_window_at_middle_start_end_and_beyond():
    wave = np.arange(1, 6 * SR + 1, dtype=np.float32)  # 6 s, sample i holds i + 1
    np.testing.assert_array_equal(window_at(wave, 2.0), wave[:WINDOW_SAMPLES])
    start = window_at(wave, 0.0)  # first 2 s are padding
    assert len(start) == WINDOW_SAMPLES
    assert (start[: WINDOW_SAMPLES // 2] == 0).all()
    np.testing.assert_array_equal(start[WINDOW_SAMPLES // 2 :], wave[: WINDOW_SAMPLES // 2])
    end = window_at(wave, 6.0)  # last 2 s are padding
    np.testing.assert_array_equal(end[: WINDOW_SAMPLES // 2], wave[-WINDOW_SAMPLES // 2 :])
    assert (end[WINDOW_SAMPLES // 2 :] == 0).all()
    assert (window_at(wave, 20.0) == 0).all()


def test_audio_windows_compute_each_position_once():
    wave = chirp(3.0)
    windows = AudioWindows(wave, hop=0.5)
    times = np.arange(75) / 25  # a 3 s clip at 25 fps
    specs = [windows.spectrogram(t) for t in times]
    assert windows.positions_computed == 7  # centres 0.0, 0.5, ..., 3.0
    assert specs[0].shape == (1, 257, 257)
    # t = 0.28 snaps to 0.5
    torch.testing.assert_close(specs[7], log_spectrogram(window_at(wave, 0.5)))
    windows.spectrograms(times)  # all cached: nothing new
    assert windows.positions_computed == 7


def test_audio_windows_exact_and_bounded_cache():
    wave = chirp(3.0)
    exact = AudioWindows(wave, hop=0)
    torch.testing.assert_close(exact.spectrogram(0.28), log_spectrogram(window_at(wave, 0.28)))
    exact.spectrogram(0.32)
    exact.spectrogram(0.28)
    assert exact.positions_computed == 2

    small = AudioWindows(wave, hop=0.5, cache_size=2)
    for t in (0.0, 0.5, 1.0, 0.0):  # 0.0 was evicted by then
        small.spectrogram(t)
    assert small.positions_computed == 4
    assert len(small._cache) == 2


@needs_shared
@pytest.mark.parametrize("chunk", [16000, 777])
def test_streamed_windows_equal_audio_windows_over_a_real_clip(chunk):
    """Every frame of a GRID clip (25 fps) and 2.5 s past its end, in batches as enhance_video
    asks: the streamed sound gives the very same spectrograms, holding only about one window."""
    clip = GRID / "bbaf2n.mpg"
    wave = load_audio(clip)  # mp2 at 44.1 kHz, resampled to 16 kHz
    whole = AudioWindows(wave, hop=0.5)
    times = np.arange(0, len(wave) / SR + 2.5, 1 / 25)
    with AudioStream(clip, chunk=chunk) as stream:
        streamed = StreamWindows(stream, hop=0.5)
        for i in range(0, len(times), 16):
            batch = times[i : i + 16]
            assert torch.equal(streamed.spectrograms(batch), whole.spectrograms(batch))
            assert stream._buffer.size < WINDOW_SAMPLES + chunk
        assert streamed.positions_computed == whole.positions_computed
        assert stream.length == len(wave) and stream._process is None  # read to the end; ffmpeg done
        # Going back to the start decodes the track again: still the same values.
        again = StreamWindows(stream, hop=0.5)
        assert torch.equal(again.spectrograms([0.0, 1.3]), AudioWindows(wave).spectrograms([0.0, 1.3]))
        np.testing.assert_array_equal(stream.samples(-5, 10), np.r_[np.zeros(5, np.float32), wave[:10]])
    assert audio_length(clip) == len(wave)


def test_audio_stream_of_a_file_without_sound(tmp_path):
    silent = tmp_path / "silent.mp4"
    run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=25:duration=1", "-y", str(silent)])
    with pytest.raises(NoAudioError, match="has no audio track"):
        audio_length(silent)
    with AudioStream(silent) as stream, pytest.raises(NoAudioError):
        stream.samples(0, 10)
