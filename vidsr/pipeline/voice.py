"""The voice a of a video: z_a = E_a(a_t) for each frame time t.

a_t is the 4 s of sound centred on t, snapped to a window every AUDIO_HOP s. The sound
is streamed from ffmpeg as the frames advance (:class:`vidsr.media.AudioStream`), so
only the samples of the windows being encoded are in memory, however long the video.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable

from vidsr.pipeline.constants import AUDIO_HOP
from vidsr.pipeline.timing import Clock


class Voice:
    """z_a = E_a(a_t) for frame times t; each 4 s window (every AUDIO_HOP s) is encoded once.

    Times should come in increasing order, as enhance_video's frames do (see
    :class:`vidsr.audio.StreamWindows`). :meth:`close` stops the sound's decoder.
    """

    def __init__(self, stream, model, device, autocast, clock: Clock, cache_size: int = 64):
        from vidsr.audio import StreamWindows

        self.windows = StreamWindows(stream, hop=AUDIO_HOP)
        self.model, self.device, self.autocast, self.clock = model, device, autocast, clock
        self.cache_size = cache_size
        self._codes: OrderedDict[float, object] = OrderedDict()

    def codes(self, times: list[float]):
        import torch

        keys = [self.windows.center(t) for t in times]
        missing = [k for k in dict.fromkeys(keys) if k not in self._codes]
        if missing:
            with self.clock("audio"):
                spec = self.windows.spectrograms(missing).to(self.device)
            with self.clock("model"), self.autocast():
                z_a = self.model.encode_audio(spec).float()
            self._codes.update(zip(missing, z_a))
        for k in dict.fromkeys(keys):
            self._codes.move_to_end(k)
        while len(self._codes) > max(self.cache_size, len(set(keys))):
            self._codes.popitem(last=False)
        return torch.stack([self._codes[k] for k in keys])

    def close(self) -> None:
        self.windows.close()


def open_voice(path: str, info, audio: str | os.PathLike | None, model, device, autocast, clock: Clock,
               warning: Callable[[str], None]) -> tuple[Voice | None, str | None]:
    """The voice a for the video at ``path`` (``info``: its :func:`vidsr.media.probe`):
    its own sound, or that of the file ``audio`` (the paper's mixing, Fig. 1b).

    Returns (the :class:`Voice`, or None for a video without sound: E_l only, with a
    warning; the report's "voice": "own" or ``audio``). ``audio`` is decoded once here to
    check it (NoAudioError, MediaError) and measure it: a voice shorter than the video is
    a warning. Nothing is decoded for the video's own sound until the frames need it.
    """
    from vidsr.media import SAMPLE_RATE, AudioStream, audio_length

    if audio is None:
        if not info.has_audio:
            warning(f"'{path}' has no audio track: enhancing from the picture alone (E_l only)")
            return None, None
        return Voice(AudioStream(path), model, device, autocast, clock), "own"
    with clock("audio"):
        seconds = audio_length(audio) / SAMPLE_RATE
    if seconds < info.duration - 0.5:
        warning(f"the voice in '{audio}' ({seconds:.1f} s) is shorter than the video "
                f"({info.duration:.1f} s): later frames get silence")
    return Voice(AudioStream(audio), model, device, autocast, clock), os.fspath(audio)
