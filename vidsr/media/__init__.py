"""Video and audio I/O through ffmpeg (imageio-ffmpeg's static binary by default).

- :func:`probe` describes a video file (:class:`VideoInfo`).
- :class:`VideoReader` streams its frames (:class:`Frame`) with real timestamps.
- :class:`VideoWriter` encodes frames to H.264 and adds the original sound.
- :func:`load_audio` / :func:`save_wav` read a sound track as 16 kHz mono and write WAV;
  :class:`AudioStream` reads it piece by piece (constant memory), :func:`audio_length` counts it.

Every failure a user can cause raises :class:`vidsr.errors.MediaError` (or
:class:`vidsr.errors.NoAudioError`) with a one-line message.
"""

from vidsr.media.audio import SAMPLE_RATE, AudioStream, audio_length, load_audio, save_wav
from vidsr.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from vidsr.media.probe import VideoInfo, probe
from vidsr.media.reader import Frame, VideoReader
from vidsr.media.writer import VideoWriter

__all__ = [
    "SAMPLE_RATE",
    "AudioStream",
    "Frame",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "audio_length",
    "ffmpeg_exe",
    "load_audio",
    "probe",
    "run_ffmpeg",
    "save_wav",
]
