"""The voice a of a video, two ways.

- :class:`Voice` (``--voice-to all``, ``--audio``): z_a = E_a(a_t) for each frame time t,
  a_t the 4 s of sound centred on t, snapped to a window every AUDIO_HOP s.
- :class:`TrackVoices` (``--voice-to auto`` or a track id): only speech feeds E_a
  (:func:`vidsr.audio.vad.find_speech`); each stretch of speech goes to the track that
  speaks it (:func:`vidsr.pipeline.speakers.assign`), and a track's z_a is the mean of the
  codes of its stretches, each stretch encoded once (at most VOICE_WINDOWS windows of it,
  averaged). A track given no speech gets no z_a (E_l only).

The sound is streamed from ffmpeg (:class:`vidsr.media.AudioStream`), so only the samples
being encoded are in memory, however long the video.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Callable

import numpy as np

from vidsr.pipeline.constants import AUDIO_HOP, VOICE_WINDOWS
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

    @property
    def codes_made(self) -> int:
        """How many 4 s windows went through E_a."""
        return self.windows.positions_computed

    def codes_for(self, faces) -> list:
        """z_a for each face (:class:`vidsr.pipeline.tracks.Face`), by its frame's time."""
        return list(self.codes([f.time for f in faces]))

    def close(self) -> None:
        self.windows.close()


def speech_windows(wave: np.ndarray, most: int = VOICE_WINDOWS) -> np.ndarray:
    """[n, 64000] windows of a stretch of speech for E_a: a stretch shorter than 4 s
    repeated to fill one window (so that no silence around it is heard), a longer one
    cut into up to ``most`` windows spread evenly over it."""
    from vidsr.audio import WINDOW_SAMPLES

    if len(wave) <= WINDOW_SAMPLES:
        return np.resize(wave, WINDOW_SAMPLES)[None]
    n = min(most, int(np.ceil(len(wave) / WINDOW_SAMPLES)))
    starts = np.linspace(0, len(wave) - WINDOW_SAMPLES, n).round().astype(int)
    return np.stack([wave[s:s + WINDOW_SAMPLES] for s in starts])


class TrackVoices:
    """z_a per track: the soundtrack's speech of the stretches given to it, pooled.

    ``stretches``: :class:`vidsr.pipeline.speakers.Stretch` es in time order. Each
    stretch with a track is encoded once (:func:`speech_windows`, codes averaged); a
    track's code is the mean of its stretches' codes weighted by their lengths. The
    sound is streamed once, forward; only the stretch being encoded is in memory."""

    def __init__(self, path: str, stretches: list, model, device, autocast, clock: Clock):
        import torch

        from vidsr.audio import log_spectrogram
        from vidsr.media import SAMPLE_RATE, AudioStream

        self.codes_made = 0
        sums: dict[int, object] = {}
        weights: dict[int, float] = {}
        with AudioStream(path) as stream:
            for s in stretches:
                if s.track is None:
                    continue
                with clock("audio"):
                    wave = stream.samples(round(s.start * SAMPLE_RATE), round(s.end * SAMPLE_RATE))
                    spec = log_spectrogram(speech_windows(wave)).to(device)
                with clock("model"), autocast(), torch.no_grad():
                    z = model.encode_audio(spec).float().mean(0)
                self.codes_made += len(spec)
                length = s.end - s.start
                sums[s.track] = sums[s.track] + length * z if s.track in sums else length * z
                weights[s.track] = weights.get(s.track, 0.0) + length
        self.by_track = {t: sums[t] / weights[t] for t in sums}

    def codes_for(self, faces) -> list:
        """z_a for each face: its track's code, or None (no voice: E_l only)."""
        return [self.by_track.get(f.track) for f in faces]

    def close(self) -> None:
        pass


def plan_voices(path: str, tracks: dict, voice_to: str | int, fps: float, model, device, autocast, clock: Clock):
    """``--voice-to auto`` or a track id: find the speech of the video at ``path``, give
    each stretch to a track of ``tracks`` (the enhanced ones, by id) and encode it.
    Returns (the :class:`TrackVoices`, the stretches, the :class:`vidsr.audio.vad.Speech`)."""
    from vidsr.audio.vad import find_speech
    from vidsr.media import AudioStream
    from vidsr.pipeline.speakers import assign

    with clock("audio"), AudioStream(path) as stream:
        speech = find_speech(stream)
    with clock("decode"):
        stretches = assign(speech.stretches, tracks, voice_to, path=path, speech=speech, fps=fps)
    return TrackVoices(path, stretches, model, device, autocast, clock), stretches, speech


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


def whose_voice(voice, voice_source: str | None, voice_to: str | int, chosen: dict, path: str, fps: float, model,
                device, autocast, clock: Clock):
    """The voice each face hears: with the video's own sound and ``voice_to`` "auto" or a
    track id, its speech given stretch by stretch to the ``chosen`` tracks
    (:func:`plan_voices`, replacing ``voice``); otherwise ``voice`` as it is.
    Returns (voice, stretches or None, speech or None); VidsrError for a track id that
    is not among ``chosen``."""
    from vidsr.errors import VidsrError

    if voice_source != "own" or voice_to == "all" or not chosen:
        return voice, None, None
    voice.close()
    if isinstance(voice_to, int) and voice_to not in chosen:
        raise VidsrError(f"--voice-to {voice_to}: '{path}' has no enhanced face track {voice_to} "
                         f"(enhanced: {', '.join(map(str, chosen)) or 'none'}; see vidsr detect)")
    return plan_voices(path, chosen, voice_to, fps, model, device, autocast, clock)
