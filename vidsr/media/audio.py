"""Reading a file's sound track as a waveform, and writing WAV files."""

from __future__ import annotations

import os

import ffmpeg
import numpy as np
import soundfile

from vidsr.errors import MediaError, NoAudioError
from vidsr.media.ffmpeg import file_arg, run_ffmpeg
from vidsr.media.probe import check_readable

SAMPLE_RATE = 16000

# What ffmpeg says when "-map 0:a:0" finds nothing.
_NO_STREAM = ("matches no streams", "does not contain any stream")


def load_audio(path: str | os.PathLike, sr: int = SAMPLE_RATE) -> np.ndarray:
    """The first audio track of ``path`` as float32 mono in [-1, 1] at ``sr`` Hz.

    ffmpeg decodes, down-mixes and resamples in one go. Raises NoAudioError if the file
    has no audio track, MediaError if it cannot be read.
    """
    path = check_readable(path)
    args = (
        ffmpeg.input(file_arg(path))["a:0"]
        .output("pipe:", format="s16le", acodec="pcm_s16le", ac=1, ar=sr)
        .get_args()
    )
    try:
        out = run_ffmpeg(args, what=f"cannot read audio of '{path}'")
    except MediaError as e:
        if any(text in str(e) for text in _NO_STREAM):
            raise NoAudioError(f"'{path}' has no audio track") from None
        raise
    return np.frombuffer(out, np.int16).astype(np.float32) / 32768.0


def save_wav(path: str | os.PathLike, wave: np.ndarray, sr: int = SAMPLE_RATE) -> None:
    """Write ``wave`` ([N] mono or [N, channels]; float in [-1, 1] or int16) as 16-bit WAV.

    The file is written next to ``path`` under a temporary name and then renamed, so
    ``path`` is never left half-written.
    """
    path = os.fspath(path)
    wave = np.asarray(wave)
    if wave.dtype.kind == "f":
        wave = np.clip(wave, -1.0, 1.0)
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}.partial.wav")
    try:
        soundfile.write(tmp, wave, sr, subtype="PCM_16", format="WAV")
        os.replace(tmp, path)
    except (OSError, soundfile.LibsndfileError) as e:
        raise MediaError(f"cannot write '{path}': {getattr(e, 'strerror', None) or e}") from None
    finally:
        _remove(tmp)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
