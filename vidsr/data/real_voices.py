"""Real voices for face photos: 4 s stretches of read speech from speechocean762.

Photos have no sound. Instead of a made voice (:mod:`vidsr.data.voices`) a photographed
person can be given a real speaker of their gender and age group (child under
:data:`CHILD_AGE`, adult otherwise; unknown ages count as adult), drawn from a seeded RNG.
Every clip of that person is a different 4 s stretch of the speaker's recording:

- a training speaker's recording is cut in two halves at the quietest moment near its
  middle (between two sentences); D1 clips come from the first half and D2 clips from the
  second, so D1 and D2 never share a stretch of sound;
- speakers are split by the project's stable hash (:func:`vidsr.data.splits.is_test_speaker`),
  and test faces get only test speakers (any stretch of them), so evaluation never hears a
  voice that training heard.

A stretch starts on a 0.1 s grid, lies inside its half and is at least
:data:`MIN_SPEECH_FRACTION` speech (50 ms frames louder than a tenth of the recording's
95th-percentile frame RMS); its speech is brought to the made voices' level
(:data:`vidsr.data.voices.SPEECH_RMS`, -20 dBFS). Recordings are decoded with the project's
ffmpeg helpers (:func:`vidsr.media.audio.load_audio`) when a speaker is first used and
kept as int16 (about 115 MB per hour).

The folder holds ``speakers.csv`` (speaker, gender male/female, age, ...) and one
``SPEAKER.opus`` (or .wav/.flac/.ogg) per speaker, as ``../shared/data/speechocean762/``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidsr.audio.spectrogram import WINDOW_SAMPLES
from vidsr.data.splits import is_test_speaker
from vidsr.data.voices import SPEECH_RMS
from vidsr.errors import VidsrError
from vidsr.media.audio import SAMPLE_RATE
from vidsr.media.suffixes import SOUND_SUFFIXES

CHILD_AGE = 16  # faces and speakers younger than this are children (speechocean762: 6-15 vs 19-43)
AGE_GROUPS = ("child", "adult")
FRAME = SAMPLE_RATE // 20  # 50 ms activity frames
SPEECH_LEVEL = 0.1  # a speech frame is louder than this fraction of the 95th-percentile frame RMS
MIN_SPEECH_FRACTION = 0.4  # read sentences with ~1 s pauses: 4 s windows hold 50-65 % speech
WINDOW_STEP = SAMPLE_RATE // 10  # stretches start on a 0.1 s grid
CUT_SEARCH = 0.15  # the halves are cut within +-15 % of the recording's middle


def age_group(age: int | None) -> str:
    """'child' under CHILD_AGE, else 'adult' (also for an unknown age, -1 or None)."""
    return "child" if age is not None and 0 <= age < CHILD_AGE else "adult"


@dataclass(frozen=True)
class Speaker:
    name: str
    gender: int  # 0 male, 1 female
    age: int
    path: Path

    @property
    def group(self) -> str:
        return age_group(self.age)

    @property
    def test(self) -> bool:
        return is_test_speaker(self.name)


class RealVoices:
    """The speakers of a folder, and seeded 4 s stretches of their voices.

    >>> voices = RealVoices("../shared/data/speechocean762")
    >>> speaker = voices.draw_speaker(rng, gender=1, age=30, test=False)
    >>> wave, start = voices.stretch(speaker, "d1", rng)     # float32 [64000], its first sample
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.speakers = read_speakers(self.folder)
        self._audio: dict[str, np.ndarray] = {}
        self._starts: dict[tuple[str, str], np.ndarray] = {}
        self._gain: dict[str, float] = {}

    def pool(self, gender: int, group: str, test: bool) -> list[Speaker]:
        """The speakers of this gender, age group and side of the split."""
        return [s for s in self.speakers if s.gender == gender and s.group == group and s.test == test]

    def draw_speaker(self, rng: np.random.Generator, gender: int, age: int | None, test: bool) -> Speaker:
        """A speaker for a face of this gender (0/1) and age: of the same age group when
        there is one on the face's side of the split, else of the other age group."""
        group = age_group(age)
        pool = self.pool(gender, group, test) or self.pool(gender, AGE_GROUPS[group == "child"], test)
        if not pool:
            side = "test" if test else "training"
            raise VidsrError(f"{self.folder} has no {side} speaker of gender {('male', 'female')[gender]}")
        return pool[int(rng.integers(len(pool)))]

    def audio(self, speaker: Speaker) -> np.ndarray:
        """The speaker's whole recording, int16 at 16 kHz (decoded once)."""
        if speaker.name not in self._audio:
            from vidsr.errors import MediaError
            from vidsr.media.audio import load_audio

            try:
                wave = load_audio(speaker.path)
            except MediaError as e:
                raise VidsrError(f"cannot decode the voice of speaker {speaker.name}: {e}") from None
            if len(wave) < 2 * WINDOW_SAMPLES:
                raise VidsrError(f"speaker {speaker.name}'s recording is under {2 * WINDOW_SAMPLES / SAMPLE_RATE:.0f} s")
            self._audio[speaker.name] = np.clip(np.round(wave * 32767.0), -32768, 32767).astype(np.int16)
            self._index(speaker)
        return self._audio[speaker.name]

    def _index(self, speaker: Speaker) -> None:
        """Speech frames, the cut between the halves, and the window starts of each half."""
        wave = self._audio[speaker.name].astype(np.float32) / 32768.0
        n = len(wave) // FRAME
        rms = np.sqrt(np.mean(wave[: n * FRAME].reshape(n, FRAME) ** 2, axis=1))
        speech = rms > SPEECH_LEVEL * np.percentile(rms, 95)
        self._gain[speaker.name] = SPEECH_RMS / max(float(np.sqrt(np.mean(rms[speech] ** 2))), 1e-6)
        # The cut: the quietest 0.5 s (10 frames) near the middle, i.e. between two sentences.
        quiet = np.convolve(rms, np.ones(10) / 10, mode="same")
        lo, hi = int(n * (0.5 - CUT_SEARCH)), int(n * (0.5 + CUT_SEARCH))
        cut = (lo + int(np.argmin(quiet[lo:hi]))) * FRAME
        cum = np.concatenate([[0], np.cumsum(speech)])
        win = WINDOW_SAMPLES // FRAME

        def starts(a: int, b: int) -> np.ndarray:
            s = np.arange(a, b - WINDOW_SAMPLES + 1, WINDOW_STEP)
            if not s.size:  # a half shorter than a window: the one window nearest to it
                return np.array([min(a, len(wave) - WINDOW_SAMPLES)])
            f = s // FRAME
            frac = (cum[np.minimum(f + win, n)] - cum[np.minimum(f, n)]) / win
            good = s[frac >= MIN_SPEECH_FRACTION]
            return good if good.size else s[np.argmax(frac)][None]  # never empty: the best stretch

        self._starts[speaker.name, "d1"] = starts(0, cut)
        self._starts[speaker.name, "d2"] = starts(cut, len(wave))
        self._starts[speaker.name, "test"] = starts(0, len(wave))

    def starts(self, speaker: Speaker, split: str) -> np.ndarray:
        """The sample indices where a stretch of `split` ('d1', 'd2' or 'test') may start."""
        self.audio(speaker)
        return self._starts[speaker.name, split]

    def stretch(self, speaker: Speaker, split: str, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """A random stretch of the speaker for a sample of `split`: (float32 [64000], start sample)."""
        audio = self.audio(speaker)
        starts = self._starts[speaker.name, split]
        start = int(starts[rng.integers(len(starts))])
        wave = audio[start:start + WINDOW_SAMPLES].astype(np.float32) * (self._gain[speaker.name] / 32768.0)
        return np.clip(wave, -0.99, 0.99), start


def read_speakers(folder: str | os.PathLike) -> list[Speaker]:
    """The speakers listed in ``folder/speakers.csv`` whose recording is in the folder."""
    folder = Path(folder)
    table = folder / "speakers.csv"
    if not table.is_file():
        raise VidsrError(f"no speakers.csv in {folder} (real voices need a folder like ../shared/data/speechocean762)")
    try:
        rows = list(csv.DictReader(table.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError) as e:
        raise VidsrError(f"cannot read {table}: {e}") from None
    if not rows or not {"speaker", "gender", "age"} <= set(rows[0]):
        raise VidsrError(f"{table} needs the columns speaker, gender, age")
    files = {p.stem: p for p in folder.iterdir() if p.suffix.lower() in SOUND_SUFFIXES}
    genders = {"male": 0, "m": 0, "female": 1, "f": 1}
    speakers = []
    for r in rows:
        name, gender, age = r["speaker"].strip(), genders.get(r["gender"].strip().lower()), r["age"].strip()
        if name in files and gender is not None and age.isdigit():
            speakers.append(Speaker(name, gender, int(age), files[name]))
    if not speakers:
        raise VidsrError(f"{table} lists no speaker with gender, age and a recording in {folder}")
    return speakers
