"""Video and audio I/O through ffmpeg (:func:`ffmpeg_exe` says which binary).

- :func:`probe` describes a video file (:class:`VideoInfo`).
- :class:`VideoReader` streams its frames (:class:`Frame`) with real timestamps.
- :class:`VideoWriter` encodes frames to H.264 and adds the original sound.
- :func:`load_audio` / :func:`save_wav` read a sound track as 16 kHz mono and write WAV;
  :class:`AudioStream` reads it piece by piece (constant memory), :func:`audio_length` counts it.

Every failure a user can cause raises :class:`vidsr.errors.MediaError` (or
:class:`vidsr.errors.NoAudioError`) with a one-line message.
"""

from vidsr.lazy import lazy_attributes
from vidsr.media.ffmpeg import ffmpeg_exe, run_ffmpeg
from vidsr.media.probe import VideoInfo, probe  # (eager: the name probe is also the module's)

# The others are imported on first use (PEP 562): vidsr.media.suffixes needs no numpy.
_WHERE = {
    "SAMPLE_RATE": "audio", "AudioStream": "audio", "audio_length": "audio", "load_audio": "audio", "save_wav": "audio",
    "Frame": "reader", "VideoReader": "reader", "VideoWriter": "writer",
}
__getattr__ = lazy_attributes(__name__, _WHERE)

__all__ = ["VideoInfo", "ffmpeg_exe", "probe", "run_ffmpeg", *_WHERE]
