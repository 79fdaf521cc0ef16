"""Made voices: espeak-ng speakers whose pitch matches a face's gender and age.

Photo collections (UTKFace) have no sound, so every photographed person is given a
voice of their own: a :class:`VoiceSpec` (an espeak-ng accent + voice variant, a pitch
and a speed) drawn from a seeded RNG so that the voice's fundamental frequency (F0) falls
in the range of a real speaker of that gender and age (``shared/research/voices.md``:
real men and women separate at a median F0 of about 143-165 Hz). Each person then reads
a few different sentences (the clips).

:func:`synthesize` turns one (voice, sentence) into exactly the audio input the models
expect: 4.0 s of 16 kHz mono float32 (64,000 samples), digital silence trimmed and a
random 0-0.4 s lead-in, like the clips that voices.md measured. Made voices alone teach
the audio encoder espeak's tells; training pairs them with :mod:`vidsr.audio.augment`.

espeak-ng is a system program (Debian package ``espeak-ng``); nothing is downloaded.
"""

from __future__ import annotations

import math
import shutil
import subprocess
import zlib
from dataclasses import dataclass

import numpy as np
from scipy.signal import resample_poly

from vidsr.audio.spectrogram import WINDOW_SAMPLES  # 4.0 s at 16 kHz, the paper's audio input
from vidsr.errors import VidsrError
from vidsr.media.audio import SAMPLE_RATE

MAX_LEAD_IN_S = 0.4
SPEECH_RMS = 0.1  # -20 dBFS; peaks then sit around -6 dBFS, leaving room for gain

# Median F0 (Hz) of each espeak-ng voice variant at pitch -p 0, 25, 50, 75, 99, measured
# once with librosa.pyin on one sentence at -s 170 (the accent does not change F0: within
# 3 Hz across en, en-us, en-gb-scotland, ... en-us-nyc). Used to turn a wanted F0 into -p.
# Whispering, robotic and creaky variants (whisper, Demonic, croak, grandpa, rob, zac,
# UniRobot, ...) are left out: their pitch cannot be set or measured.
PITCH_POINTS = (0, 25, 50, 75, 99)
MALE_VARIANTS: dict[str, tuple[float, ...]] = {
    "m1": (62, 76, 94, 121, 158), "m2": (63, 79, 101, 134, 178), "m3": (72, 86, 107, 136, 175),
    "m4": (67, 77, 96, 120, 154), "m5": (68, 84, 104, 133, 173), "m6": (66, 82, 102, 133, 173),
    "m7": (76, 89, 108, 135, 172), "m8": (59, 71, 87, 110, 141), "Adam": (69, 83, 104, 132, 171),
    "Alex": (56, 77, 104, 144, 198), "Andy": (62, 75, 97, 128, 170), "antonio": (69, 83, 104, 132, 171),
    "benjamin": (72, 85, 105, 133, 172), "boris": (68, 84, 104, 132, 172), "caleb": (72, 87, 105, 133, 172),
    "david": (55, 64, 77, 98, 127), "Denis": (65, 80, 101, 130, 169), "Diogo": (70, 86, 107, 137, 177),
    "ed": (92, 107, 127, 161, 206), "edward": (67, 83, 103, 133, 172), "edward2": (72, 87, 105, 133, 171),
    "Gene": (62, 77, 97, 126, 165), "Gene2": (72, 91, 116, 153, 205), "gustave": (75, 88, 107, 137, 176),
    "Henrique": (82, 93, 112, 137, 170), "Hugo": (82, 93, 112, 137, 170), "iven": (71, 84, 102, 129, 165),
    "iven2": (70, 84, 102, 129, 164), "Jacky": (79, 93, 115, 146, 188), "john": (67, 82, 103, 133, 173),
    "Lee": (59, 75, 97, 128, 170), "marcelo": (72, 82, 98, 121, 152), "Marco": (87, 106, 133, 170, 221),
    "Mario": (80, 91, 110, 135, 174), "max": (68, 83, 104, 132, 171), "Michael": (81, 95, 108, 137, 172),
    "michel": (70, 86, 107, 137, 177), "miguel": (79, 92, 113, 142, 181), "Mike": (64, 76, 93, 116, 147),
    "Nguyen": (112, 129, 153, 189, 236), "pablo": (81, 95, 116, 145, 186), "paul": (57, 69, 87, 112, 145),
    "pedro": (68, 84, 105, 135, 175), "quincy": (61, 72, 87, 110, 141), "robert": (76, 87, 98, 122, 154),
    "norbert": (66, 82, 102, 133, 173), "sandro": (66, 80, 100, 129, 168), "travis": (75, 85, 104, 131, 168),
    "victor": (61, 77, 97, 126, 164), "klatt": (72, 87, 105, 133, 172), "klatt3": (69, 85, 105, 132, 172),
    "Storm": (62, 74, 87, 108, 136),
}
FEMALE_VARIANTS: dict[str, tuple[float, ...]] = {
    "f1": (118, 145, 183, 236, 310), "f2": (133, 160, 198, 253, 328), "f3": (149, 178, 214, 269, 340),
    "f4": (115, 143, 181, 236, 310), "f5": (132, 164, 207, 271, 354), "Alicia": (172, 205, 253, 325, 419),
    "Andrea": (153, 193, 249, 329, 434), "Annie": (189, 214, 245, 291, 350), "aunty": (78, 118, 171, 251, 361),
    "belinda": (135, 175, 230, 310, 414), "linda": (135, 175, 230, 310, 414), "steph": (107, 141, 186, 251, 338),
    "steph2": (107, 141, 186, 251, 338), "anika": (177, 217, 273, 352, 457), "grandma": (146, 173, 206, 252, 312),
}
# Variants that sound old (espeak labels m1, f1 as 70, grandma as 90, m8 as 50).
OLD_VARIANTS = {"m1", "m8", "f1", "grandma"}
# English accents ("languages") the variants are combined with.
ACCENTS = ("en", "en-us", "en-gb-scotland", "en-gb-x-rp", "en-029", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")

# Harvard sentences (IEEE 1969 recommended practice for speech quality measurements;
# public domain): short, phonetically balanced, about 2-3 s each when spoken.
SENTENCES = (
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
    "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.",
    "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.",
    "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.",
    "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.",
    "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.",
    "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.",
    "The girl at the booth sold fifty bonds.",
    "The small pup gnawed a hole in the sock.",
    "The fish twisted and turned on the bent hook.",
    "Press the pants and sew a button on the vest.",
    "The swan dive was far short of perfect.",
    "The beauty of the view stunned the young boy.",
    "Two blue fish swam in the tank.",
    "Her purse was full of useless trash.",
    "The colt reared and threw the tall rider.",
    "It snowed, rained, and hailed the same morning.",
    "Read verse out loud for pleasure.",
    "Hoist the load to your left shoulder.",
    "Take the winding path to reach the lake.",
)


@dataclass(frozen=True)
class VoiceSpec:
    """One made speaker: espeak-ng ``-v voice -p pitch -s speed``."""

    voice: str  # "ACCENT+VARIANT", e.g. "en-us+m3"
    pitch: int  # espeak -p, 0..99
    speed: int  # espeak -s, words per minute

    @property
    def variant(self) -> str:
        return self.voice.split("+", 1)[1]

    def expected_f0(self) -> float:
        """The median F0 (Hz) this voice should have, from the measured table."""
        table = MALE_VARIANTS.get(self.variant) or FEMALE_VARIANTS[self.variant]
        return _f0_at(table, self.pitch)


def _f0_at(table: tuple[float, ...], pitch: float) -> float:
    return float(np.exp(np.interp(pitch, PITCH_POINTS, np.log(table))))


def _pitch_for(table: tuple[float, ...], f0: float) -> int:
    return int(round(np.interp(math.log(f0), np.log(table), PITCH_POINTS)))


def f0_range(gender: int, age: int | None = None) -> tuple[float, float]:
    """The (low, high) median F0 in Hz of a real speaker of this gender (0 male, 1 female) and age.

    Adults 85-150 Hz (men) and 165-260 Hz (women), on either side of the 143-165 Hz boundary
    of voices.md. Children up to 12 speak at 200-320 Hz whatever their gender; teenagers move
    linearly from the child range to the adult one between 12 and 18; from 60 on men's
    voices rise a little and women's fall (95-165 and 150-230 Hz).
    """
    if gender not in (0, 1):
        raise ValueError(f"a voice needs gender 0 (male) or 1 (female), got {gender}")
    adult = (85.0, 150.0) if gender == 0 else (165.0, 260.0)
    child = (200.0, 300.0) if gender == 0 else (210.0, 320.0)
    old = (95.0, 165.0) if gender == 0 else (150.0, 230.0)
    if age is None or age < 0 or 18 <= age < 60:
        return adult
    if age <= 12:
        return child
    if age < 18:
        t = (age - 12) / 6
        return (child[0] + t * (adult[0] - child[0]), child[1] + t * (adult[1] - child[1]))
    return old


def speed_range(age: int | None = None) -> tuple[int, int]:
    """espeak -s words per minute: older speakers a little slower, children a little faster."""
    if age is not None and age >= 60:
        return (120, 175)
    if age is not None and 0 <= age <= 12:
        return (150, 210)
    return (135, 205)


def draw_voice(rng: np.random.Generator, gender: int, age: int | None = None) -> VoiceSpec:
    """A random voice for a person of this gender (0 male, 1 female) and age (None/-1 unknown).

    The wanted F0 is drawn log-uniformly in :func:`f0_range`; a variant of that gender able
    to reach it is chosen (old people favour the old-sounding variants); the pitch setting is
    read off the variant's measured F0 curve. Boys whose wanted F0 no male variant reaches
    are voiced by a female variant, as children's voices are.
    """
    lo, hi = f0_range(gender, age)
    f0 = float(np.exp(rng.uniform(math.log(lo), math.log(hi))))
    own = MALE_VARIANTS if gender == 0 else FEMALE_VARIANTS
    other = FEMALE_VARIANTS if gender == 0 else MALE_VARIANTS
    fits = [v for v, t in own.items() if t[0] <= f0 <= t[-1]] or [v for v, t in other.items() if t[0] <= f0 <= t[-1]]
    if age is not None and age >= 60 and rng.random() < 0.5:
        fits = [v for v in fits if v in OLD_VARIANTS] or fits
    if not fits:  # not reached with the ranges above; keep the nearest voice of the right gender
        fits = list(own)
    variant = fits[rng.integers(len(fits))]
    table = MALE_VARIANTS.get(variant) or FEMALE_VARIANTS[variant]
    pitch = int(np.clip(_pitch_for(table, f0), 0, 99))
    accent = ACCENTS[rng.integers(len(ACCENTS))]
    s_lo, s_hi = speed_range(age)
    return VoiceSpec(f"{accent}+{variant}", pitch, int(rng.integers(s_lo, s_hi + 1)))


def draw_sentences(rng: np.random.Generator, n: int) -> list[str]:
    """`n` different sentences (repeating only when more than len(SENTENCES) are asked)."""
    order = list(rng.permutation(len(SENTENCES)))
    while len(order) < n:
        order += list(rng.permutation(len(SENTENCES)))
    return [SENTENCES[i] for i in order[:n]]


def espeak_exe() -> str:
    """The espeak-ng program, or a VidsrError saying how to install it."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise VidsrError("espeak-ng not found: apt-get install espeak-ng")
    return exe


def _parse_wav(data: bytes) -> tuple[np.ndarray, int]:
    """int16 samples and rate of espeak's WAV output (whose size fields are bogus on --stdout)."""
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise VidsrError("espeak-ng did not produce WAV audio")
    pos, rate = 12, None
    while pos + 8 <= len(data):
        tag, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if tag == b"fmt ":
            rate = int.from_bytes(data[pos + 12:pos + 16], "little")
        elif tag == b"data":
            body = data[pos + 8:]
            body = body[: len(body) - len(body) % 2]
            return np.frombuffer(body, "<i2"), int(rate or 22050)
        pos += 8 + size + size % 2
    raise VidsrError("espeak-ng produced WAV audio without samples")


def speak(spec: VoiceSpec, sentence: str) -> tuple[np.ndarray, int]:
    """Raw espeak-ng output for one sentence: (int16 samples, sample rate)."""
    args = [espeak_exe(), "-v", spec.voice, "-p", str(spec.pitch), "-s", str(spec.speed), "--stdout", "--stdin"]
    try:
        proc = subprocess.run(args, input=sentence.encode("utf-8"), capture_output=True, check=True, timeout=60)
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode("utf-8", "replace").strip().splitlines()
        raise VidsrError(f"espeak-ng failed for voice {spec.voice}: {msg[-1] if msg else e}") from None
    except subprocess.TimeoutExpired:
        raise VidsrError(f"espeak-ng hung for voice {spec.voice}") from None
    return _parse_wav(proc.stdout)


def _default_rng(spec: VoiceSpec, sentence: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{spec}|{sentence}".encode()))


def synthesize(spec: VoiceSpec, sentence: str, rng: np.random.Generator | None = None) -> np.ndarray:
    """`sentence` spoken by `spec`: float32 [64000], 16 kHz mono, exactly 4.0 s.

    Digital silence is trimmed from both ends, the speech is brought to -20 dBFS RMS,
    preceded by a random 0-0.4 s silent lead-in (from `rng`; by default one seeded from the
    voice and sentence, so the result is reproducible) and padded or cut to 4.0 s.
    """
    rng = rng if rng is not None else _default_rng(spec, sentence)
    pcm, rate = speak(spec, sentence)
    loud = np.flatnonzero(np.abs(pcm.astype(np.int32)) > 2)
    if loud.size == 0:
        raise VidsrError(f"espeak-ng produced silence for voice {spec.voice}")
    wave = pcm[loud[0]: loud[-1] + 1].astype(np.float32) / 32768.0
    if rate != SAMPLE_RATE:
        g = math.gcd(rate, SAMPLE_RATE)
        wave = resample_poly(wave, SAMPLE_RATE // g, rate // g).astype(np.float32)
    wave *= SPEECH_RMS / max(float(np.sqrt(np.mean(wave**2))), 1e-6)
    np.clip(wave, -0.99, 0.99, out=wave)
    out = np.zeros(WINDOW_SAMPLES, np.float32)
    start = int(rng.uniform(0, MAX_LEAD_IN_S) * SAMPLE_RATE)
    n = min(len(wave), WINDOW_SAMPLES - start)
    out[start:start + n] = wave[:n]
    return out
