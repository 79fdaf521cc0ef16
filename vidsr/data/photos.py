"""``vidsr prepare`` of face photos: :func:`prepare_photos` (see :mod:`vidsr.data.prepare`)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

import numpy as np

from vidsr.data import HR_SIZE
from vidsr.data.driver import MIN_CROP_FRACTION, finish_set, map_jobs, person_rng, pick, progress_reporter
from vidsr.data.shards import ShardWriter
from vidsr.data.sources import Photo, default_speech_folder, list_photos
from vidsr.data.splits import photo_clip_splits, photo_sides
from vidsr.data.summary import Tally
from vidsr.errors import VidsrError
from vidsr.imaging import is_picture, read_rgb, square_photo

VOICE_KINDS = ("real", "made", "mixed")
P_REAL_IN_MIXED = 0.5


def _face_crop(photo: Photo, hr_size: int, scale: float) -> np.ndarray | str:
    """The photo's face as uint8 [hr_size, hr_size, 3], or why it cannot be used."""
    from vidsr.data.lfw import crop_lfw, lfw_crop_side
    rgb = read_rgb(photo.path)
    if rgb is None:
        return "unreadable image"
    if photo.layout == "lfw":
        if lfw_crop_side(rgb, scale) < MIN_CROP_FRACTION * hr_size:
            return f"face crop under {MIN_CROP_FRACTION * hr_size:.0f} px"
        return crop_lfw(rgb, hr_size, scale)
    if min(rgb.shape[:2]) < MIN_CROP_FRACTION * hr_size:
        return f"photo under {MIN_CROP_FRACTION * hr_size:.0f} px"
    return square_photo(rgb, hr_size)  # antialiased bicubic


def _photo_job(job: tuple) -> tuple:
    """Read and crop one photo, and speak its clips when its voice is made. Runs in a worker
    process or inline.

    Returns (photo, hr, [(split, wave or None)], made voice or None) or (photo, skip reason).
    The person's RNG draws the made voice and the photo's RNG the clips, so every photo of a
    person has the same voice; a UTKFace photo is its own person and uses one RNG for both.
    """
    from vidsr.data.voices import draw_sentences, draw_voice, synthesize

    photo, side, hr_size, clips, seed, made, scale = job
    hr = _face_crop(photo, hr_size, scale)
    if isinstance(hr, str):
        return photo, hr
    person = person_rng(seed, photo.identity)
    own = person if photo.identity == photo.name else person_rng(seed, photo.identity + "/" + photo.name)
    age = photo.age if photo.age >= 0 else None
    voice = draw_voice(person, photo.gender, age) if made else None
    splits = photo_clip_splits(side, photo.identity, clips, own)
    if not made:
        return photo, hr, [(s, None) for s in splits], None
    sentences = draw_sentences(own, clips)
    return photo, hr, [(s, synthesize(voice, sentence, own)) for s, sentence in zip(splits, sentences)], voice


def _check_options(sources: list[Path], voices: str, voices_per_person: int, framing: str | float) -> float:
    """VidsrError for options :func:`prepare_photos` cannot use (before any work: made voices
    need espeak-ng at once); the crop scale of ``framing``."""
    from vidsr.data.lfw import framing_scale, is_lfw
    from vidsr.data.voices import espeak_exe
    from vidsr.faces.crop import TRAINING_CROP_SCALE

    if not sources:
        raise VidsrError("no photo folders given")
    if voices not in VOICE_KINDS:
        raise VidsrError(f"voices must be one of {', '.join(VOICE_KINDS)}, got {voices!r}")
    if voices_per_person < 1:
        raise VidsrError("voices_per_person must be at least 1")
    scale = framing_scale(framing)
    for folder in sources:
        if not folder.is_dir():
            raise VidsrError(f"no folder of face photos at {folder}")
        if scale != TRAINING_CROP_SCALE and not is_lfw(folder):
            raise VidsrError(f"{folder}: UTKFace-style photos are cropped tight already; --framing {framing} needs LFW-style sources only")
    if len({f.resolve() for f in sources}) < len(sources):
        raise VidsrError("the same photo folder is given twice")
    if voices != "real":
        espeak_exe()  # fail at once, not after the first photo
    return scale


def _real_voices(speech: str | os.PathLike | None, sources: list[Path]):
    """The speakers of ``speech`` (default: speechocean762 beside the first source)."""
    from vidsr.data.real_voices import RealVoices

    speech = Path(speech) if speech is not None else default_speech_folder(sources)
    if not speech.is_dir():
        raise VidsrError(f"real voices need a folder of speakers at {speech}: pass --speech FOLDER, or --voices made")
    return RealVoices(speech)


def prepare_photos(
    sources: str | os.PathLike | list,
    out: str | os.PathLike,
    voices_per_person: int = 3,
    hr_size: int = HR_SIZE,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable | None = None,
    workers: int = 1,
    voices: str = "real",
    speech: str | os.PathLike | None = None,
    framing: str | float = "tight",
) -> dict:
    """Make a prepared set from folders of face photos with gender labels (UTKFace names, or
    LFW's person folders and labels.csv), all in one set.

    Every person gets a voice of their gender and age group, drawn from a seeded RNG:
    `voices` ``real`` (a speaker from `speech`, default speechocean762 beside the first
    source; test people get test speakers, :mod:`vidsr.data.real_voices`), ``made`` (an
    espeak-ng voice of their own) or ``mixed`` (each person one or the other, half and
    half). Each photo speaks `voices_per_person` clips: different sentences (made) or
    different 4 s stretches (real; D1 and D2 from different halves of the speaker's
    recording). UTKFace photos are centre-squared and resized to `hr_size` (antialiased
    bicubic); LFW photos are cut around their median detector box at `framing` (``tight``:
    UTKFace's 1.2 box widths, ``loose`` or a scale; :mod:`vidsr.data.lfw`). D1/D2/test as
    in :func:`photo_sides`. Photos without a gender label are skipped (no voice can be
    matched to them). `limit` takes a seeded random subset of all photos; `workers` > 1
    reads and speaks in that many processes (only worth it with idle cores).
    """
    started = time.time()
    sources = [Path(s) for s in (sources if isinstance(sources, (list, tuple)) else [sources])]
    scale = _check_options(sources, voices, voices_per_person, framing)
    real = _real_voices(speech, sources) if voices != "made" else None
    tally = Tally()
    photos = pick(list_photos(sources, tally), limit, seed)
    sides = photo_sides(photos)
    for p in photos:
        tally.read[p.source] += 1
    jobs = []
    for p in photos:
        if p.gender not in (0, 1):
            tally.skip("no gender label (a voice cannot be matched)" if is_picture(p.path)
                       else "unreadable image", source=p.source)
            continue
        made = voices == "made" or (voices == "mixed" and person_rng(seed, p.identity, 3).random() >= P_REAL_IN_MIXED)
        jobs.append((p, sides[p.path], hr_size, voices_per_person, seed, made, scale))
    advance, stop = progress_reporter(progress, len(jobs), "photos")
    writer = ShardWriter(out, hr_size=hr_size, source=" + ".join(str(f.resolve()) for f in sources))
    try:
        for result in map_jobs(_photo_job, jobs, workers):
            advance()
            photo = result[0]
            if len(result) == 2:
                tally.skip(result[1], source=photo.source)
                continue
            _, hr, clips, made = result
            if made is None:  # a real voice: the person's speaker, a stretch per clip from the clip's half
                test = clips[0][0] == "test"
                speaker = real.draw_speaker(person_rng(seed, photo.identity, 1), photo.gender, photo.age, test)
                rng = person_rng(seed, photo.identity + "/" + photo.name, 2)
                clips = [(split, real.stretch(speaker, split, rng)[0]) for split, _ in clips]
                voice, speaker_name = "real", f"{real.folder.name}/{speaker.name}"
            else:
                voice, speaker_name = "made", f"espeak-ng/{made.voice}/p{made.pitch}/s{made.speed}"
            for k, (split, wave) in enumerate(clips):
                writer.add(split, hr, wave, identity=photo.identity, gender=photo.gender, age=photo.age,
                           video=photo.name, clip=k, source=photo.source, speaker=speaker_name)
                tally.add(split, photo.identity, photo.gender, photo.age, photo.source, voice, speaker_name)
    finally:
        stop()
    settings = {"kind": "photos", "sources": [str(f.resolve()) for f in sources], "hr_size": hr_size,
                "voices": voices, "speech": str(real.folder.resolve()) if real else None,
                "framing": framing, "crop_scale": scale, "voices_per_person": voices_per_person,
                "seed": seed, "limit": limit, "photos": len(photos)}
    return finish_set(writer, tally, f"prepared set {out}", started, settings)
