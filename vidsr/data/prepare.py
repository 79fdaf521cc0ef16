"""``vidsr prepare``: turn photos or talking-face videos into a prepared set (see shards.py).

Two kinds of source:

- :func:`prepare_photos`: one or more folders of face photos. A UTKFace-style folder holds
  the photos directly, labels in the file names, every photo its own person; an LFW-style
  folder holds person folders and ``labels.csv``, and the person is the identity. Photos
  have no sound, so every person is given a voice of their gender and age group: ``real``
  (a speaker of speechocean762, :mod:`vidsr.data.real_voices`), ``made`` (espeak-ng,
  :mod:`vidsr.data.voices`) or ``mixed`` (each person one or the other, half and half). Each
  photo speaks ``voices_per_person`` clips; each (photo, clip) is one sample.
- :func:`prepare_videos`: talking-face videos, VoxCeleb2-style ``ID/VIDEO/CLIP.mp4`` or a
  plain folder (identity = file stem). Faces are tracked and cropped square, and each kept
  frame is paired with the 4 s of the clip's own sound centred on it.

The splits follow the paper (section 3.3, 4.1): D1 and D2 hold the same people with
different clips, and test people (:func:`vidsr.data.splits.is_test_identity`) are held out
entirely. Both functions return a summary (counts per split, gender, age group, source and
voice, skipped items and why, settings, wall time), print it as tables and save it as
``summary.md`` and in ``meta.json``.
"""

from __future__ import annotations

import csv
import os
import re
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from vidsr.data.real_voices import age_group
from vidsr.data.shards import ShardWriter
from vidsr.data.splits import SPLITS, alternate, is_test_identity, split_of
from vidsr.errors import VidsrError
from vidsr.imaging import read_rgb
from vidsr.media.suffixes import VIDEO_SUFFIXES

GENDER_NAMES = {0: "male", 1: "female", -1: "unknown"}
AGE_NAMES = ("child", "adult", "age unknown")
VOICE_KINDS = ("real", "made", "mixed")
SPEECH_FOLDER = "speechocean762"  # real voices: by default this folder beside the first photo source
P_REAL_IN_MIXED = 0.5
# UTKFace's own naming: AGE_GENDER_RACE_DATETIME.jpg.chip.jpg. Names that parse but do not
# follow it (no race, a space or a missing dot) are counted as notes in the summary.
REGULAR_UTKFACE_NAME = re.compile(r"^\d{1,3}_[01]_[0-4]_\d+\.jpg\.chip\.jpg$")


# ----------------------------------------------------------------------------- summary


def _age_name(age: int | None) -> str:
    return "age unknown" if age is None or age < 0 else age_group(age)


class Tally:
    """Counts samples per split, gender, age group, source and voice; identities and
    speakers per split; what each source gave; skips and notes by source and reason."""

    def __init__(self) -> None:
        self.samples: Counter = Counter()  # (split, gender or age-group name) -> n
        self.by_source: Counter = Counter()  # (source, split) -> n
        self.by_voice: Counter = Counter()  # (voice kind, split) -> n
        self.identities: dict[str, set] = defaultdict(set)
        self.speakers: dict[str, set] = defaultdict(set)
        self.read: Counter = Counter()  # source -> photos or clips listed
        self.skipped: Counter = Counter()  # (source, reason) -> n
        self.notes: Counter = Counter()  # (source, note) -> n

    def add(self, split: str, identity: str, gender: int, age: int = -1, source: str = "",
            voice: str = "", speaker: str | None = None) -> None:
        self.samples[split, GENDER_NAMES.get(gender, "unknown")] += 1
        self.samples[split, _age_name(age)] += 1
        self.by_source[source, split] += 1
        self.by_voice[voice, split] += 1
        self.identities[split].add(identity)
        if speaker is not None:
            self.speakers[split].add(speaker)

    def skip(self, reason: str, n: int = 1, source: str = "") -> None:
        self.skipped[source, reason] += n

    def note(self, note: str, n: int = 1, source: str = "") -> None:
        self.notes[source, note] += n

    def summary(self, **extra) -> dict:
        splits = {}
        for s in SPLITS:
            by_gender = {g: self.samples[s, g] for g in GENDER_NAMES.values()}
            by_age = {a: self.samples[s, a] for a in AGE_NAMES}
            splits[s] = {"samples": sum(by_gender.values()), "identities": len(self.identities[s]), **by_gender, **by_age,
                         "speakers": len(self.speakers[s])}
        train = self.identities["d1"] | self.identities["d2"]
        train_speakers = self.speakers["d1"] | self.speakers["d2"]
        sources = sorted(set(self.read) | {k[0] for k in self.by_source} | {k[0] for k in self.skipped})
        skipped = Counter()
        for (_, reason), n in self.skipped.items():
            skipped[reason] += n
        return {
            "splits": splits,
            "samples": sum(v["samples"] for v in splits.values()),
            "identities": {
                "train": len(train),
                "in_both_d1_d2": len(self.identities["d1"] & self.identities["d2"]),
                "test": len(self.identities["test"]),
            },
            "speakers": {"train": len(train_speakers), "test": len(self.speakers["test"]),
                         "in_train_and_test": len(train_speakers & self.speakers["test"])},
            "sources": {src: {"read": self.read[src], **{s: self.by_source[src, s] for s in SPLITS},
                              "skipped": sum(n for (so, _), n in self.skipped.items() if so == src)} for src in sources},
            "voices": {kind: {s: self.by_voice[kind, s] for s in SPLITS} for kind in sorted({k[0] for k in self.by_voice})},
            "skipped": dict(sorted(skipped.items())),
            "skipped_by_source": [[src, reason, n] for (src, reason), n in sorted(self.skipped.items())],
            "notes": [[src, note, n] for (src, note), n in sorted(self.notes.items())],
            **extra,
        }


def summary_tables(summary: dict) -> list[tuple[str, list[str], list[list]]]:
    """The summary's tables as (title, columns, rows): one source for summary.md and the console."""
    cols = ["split", "samples", "identities", "male", "female", "unknown", *AGE_NAMES, "speakers"]
    tables = [("samples per split", cols, [[s, *(v[c] for c in cols[1:])] for s, v in summary["splits"].items()])]
    if summary.get("sources"):
        cols = ["source", "read", *SPLITS, "skipped"]
        tables.append(("per source (photos or clips read, samples per split)", cols,
                       [[src, *(v[c] for c in cols[1:])] for src, v in summary["sources"].items()]))
    if summary.get("voices"):
        tables.append(("samples per voice", ["voice", *SPLITS], [[k, *(v[s] for s in SPLITS)] for k, v in summary["voices"].items()]))
    if summary.get("skipped_by_source"):
        tables.append(("skipped", ["source", "reason", "count"], summary["skipped_by_source"]))
    if summary.get("notes"):
        tables.append(("notes", ["source", "note", "count"], summary["notes"]))
    return tables


def summary_lines(summary: dict) -> list[str]:
    ids, lines = summary["identities"], []
    lines.append(f"Training identities: {ids['train']} ({ids['in_both_d1_d2']} in both D1 and D2); test identities: {ids['test']}.")
    sp = summary.get("speakers")
    if sp and (sp["train"] or sp["test"]):
        lines.append(f"Voices: {sp['train']} training speakers, {sp['test']} test speakers, {sp['in_train_and_test']} in both.")
    if not summary["skipped"]:
        lines.append("Nothing was skipped.")
    return lines


def summary_markdown(summary: dict, title: str) -> str:
    """The summary as a small Markdown document (summary.md)."""
    out = [f"# {title}", ""]
    for name, cols, rows in summary_tables(summary):
        align = ["---:" if i and all(isinstance(r[i], int) for r in rows) else "---" for i in range(len(cols))]
        out += [f"{name}:", "", "| " + " | ".join(cols) + " |", "|" + "|".join(align) + "|"]
        out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]
    out += summary_lines(summary) + [""]
    out += ["Settings:", ""] + [f"- {k}: {v}" for k, v in summary.get("settings", {}).items()]
    out += ["", f"Wall time: {summary.get('seconds', 0):.0f} s", ""]
    return "\n".join(out)


def _progress(progress: Callable | None, total: int | None, what: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance, stop) reporting to ``progress(what, done, total)``, or no-ops."""
    if not progress:
        return (lambda n=1: None), (lambda: None)
    done = [0]
    progress(what, 0, total)

    def advance(n: int = 1) -> None:
        done[0] += n
        progress(what, done[0], total)

    return advance, (lambda: None)


def _finish(writer: ShardWriter, tally: Tally, title: str, started: float, settings: dict) -> dict:
    summary = tally.summary(settings=settings)
    if not any(writer.counts.values()):
        writer.discard()
        why = ", ".join(f"{reason} ({n})" for reason, n in Counter(summary["skipped"]).most_common(3))
        raise VidsrError(f"no usable samples in {' + '.join(summary['sources']) or 'the input'}"
                         + (f": skipped {why}" if why else ": nothing to read"))
    summary["seconds"] = round(time.time() - started, 1)
    writer.close(summary=summary, summary_md=summary_markdown(summary, title))
    return summary


def _person_rng(seed: int, name: str, stream: int = 0) -> np.random.Generator:
    """An RNG for one person (or photo) that depends only on the seed, the name and the
    stream (not on order or limit)."""
    key = [seed, zlib.crc32(name.encode("utf-8"))]
    return np.random.default_rng(key + [stream] if stream else key)


# ------------------------------------------------------------------------------ photos


@dataclass(frozen=True)
class Photo:
    """One face photo of a source folder, with its person's labels."""

    path: Path
    source: str  # the source folder's name (utkface, utkface-more, lfw)
    identity: str  # UTKFace-style: the file name (every photo its own person); LFW: the person
    gender: int  # 0 male, 1 female, -1 unknown
    age: int  # years, -1 unknown
    layout: str  # "utkface" (the photo is the face crop) or "lfw" (cut at the framing's scale)

    @property
    def name(self) -> str:
        return self.path.name


def list_photos(sources: list[Path], tally: Tally) -> list[Photo]:
    """The photos of every source, in source order (sorted within each). A UTKFace-style
    photo whose name an earlier source already gave is left out (it would be the same person)."""
    from vidsr.data.lfw import is_lfw, list_lfw
    from vidsr.data.utkface import list_images, parse_utkface_name

    photos, seen, names = [], set(), Counter()
    for folder in sources:
        name = folder.resolve().name
        names[name] += 1
        source = name if names[name] == 1 else f"{name}#{names[name]}"
        if is_lfw(folder):
            found, left_out = list_lfw(folder)
            for reason, n in left_out.items():
                tally.skip(reason, n, source)
            own = [Photo(p.path, source, p.person, p.gender, -1, "lfw") for p in found]
        else:
            own = []
            for path in list_images(folder):
                labels = parse_utkface_name(path.name)
                if path.name in seen:
                    tally.skip("photo name already in an earlier source", source=source)
                    continue
                seen.add(path.name)
                if labels.gender in (0, 1) and not REGULAR_UTKFACE_NAME.match(path.name):
                    tally.note("irregular UTKFace file name, labels read", source=source)
                own.append(Photo(path, source, path.name, labels.gender, labels.age, "utkface"))
            if not own:
                raise VidsrError(f"no face images in {folder}")
        photos += own
    return photos


def photo_sides(photos: list[Photo]) -> dict[Path, str]:
    """Where each photo's clips go: 'test' (test people), 'd1' or 'd2' (a person with several
    photos: their photos, in a hashed order, alternate between D1 and D2 from a hashed side,
    so D1 and D2 hold different photos of them) or 'both' (a person's only photo: its clips
    alternate between D1 and D2)."""
    by_identity: dict[str, list[Photo]] = defaultdict(list)
    for p in photos:
        by_identity[p.identity].append(p)
    sides = {}
    for identity, own in by_identity.items():
        if is_test_identity(identity):
            sides.update({p.path: "test" for p in own})
        elif len(own) == 1:
            sides[own[0].path] = "both"
        else:
            sides.update({p.path: side for p, side in alternate(identity, own, lambda p: "photo:" + p.name)})
    return sides


def _clip_splits(side: str, identity: str, clips: int, rng: np.random.Generator) -> list[str]:
    """The split of each clip of a photo on `side` (see photo_sides)."""
    first = int(rng.integers(2))  # alternate d1/d2 from a random side, so the halves balance
    if side != "both":
        return [side] * clips
    if clips == 1:
        return [split_of(identity, "0")]
    return [("d1", "d2")[(first + k) % 2] for k in range(clips)]


def _face_crop(photo: Photo, hr_size: int, scale: float) -> np.ndarray | str:
    """The photo's face as uint8 [hr_size, hr_size, 3], or why it cannot be used."""
    from vidsr.data.lfw import crop_lfw, lfw_crop_side
    from vidsr.imaging import center_square
    from vidsr.faces.crop import resize_image

    rgb = read_rgb(photo.path)
    if rgb is None:
        return "unreadable image"
    if photo.layout == "lfw":
        if lfw_crop_side(rgb, scale) < MIN_CROP_FRACTION * hr_size:
            return f"face crop under {MIN_CROP_FRACTION * hr_size:.0f} px"
        return crop_lfw(rgb, hr_size, scale)
    if min(rgb.shape[:2]) < MIN_CROP_FRACTION * hr_size:
        return f"photo under {MIN_CROP_FRACTION * hr_size:.0f} px"
    return resize_image(np.ascontiguousarray(center_square(rgb)), hr_size)  # antialiased bicubic


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
    person = _person_rng(seed, photo.identity)
    own = person if photo.identity == photo.name else _person_rng(seed, photo.identity + "/" + photo.name)
    age = photo.age if photo.age >= 0 else None
    voice = draw_voice(person, photo.gender, age) if made else None
    splits = _clip_splits(side, photo.identity, clips, own)
    if not made:
        return photo, hr, [(s, None) for s in splits], None
    sentences = draw_sentences(own, clips)
    return photo, hr, [(s, synthesize(voice, sentence, own)) for s, sentence in zip(splits, sentences)], voice


def _pick(items: list, limit: int | None, seed: int) -> list:
    """A seeded random subset of `limit` items, in their original order (all when None)."""
    if limit is None or limit >= len(items):
        return items
    keep = np.sort(np.random.default_rng([seed, 7]).choice(len(items), size=max(0, limit), replace=False))
    return [items[i] for i in keep]


def default_speech_folder(sources: list[Path]) -> Path:
    """Where real voices are read from by default: speechocean762 beside the first source."""
    return Path(sources[0]).resolve().parent / SPEECH_FOLDER


def prepare_photos(
    sources: str | os.PathLike | list,
    out: str | os.PathLike,
    voices_per_person: int = 3,
    hr_size: int = 128,
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
    from vidsr.data.lfw import framing_scale, is_lfw
    from vidsr.data.voices import espeak_exe
    from vidsr.faces.crop import TRAINING_CROP_SCALE

    started = time.time()
    sources = [Path(s) for s in (sources if isinstance(sources, (list, tuple)) else [sources])]
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
    real = None
    if voices != "made":
        from vidsr.data.real_voices import RealVoices

        speech = Path(speech) if speech is not None else default_speech_folder(sources)
        if not speech.is_dir():
            raise VidsrError(f"real voices need a folder of speakers at {speech}: pass --speech FOLDER, or --voices made")
        real = RealVoices(speech)
    tally = Tally()
    photos = _pick(list_photos(sources, tally), limit, seed)
    sides = photo_sides(photos)
    for p in photos:
        tally.read[p.source] += 1
    jobs = []
    for p in photos:
        if p.gender not in (0, 1):
            tally.skip("no gender label (a voice cannot be matched)" if read_rgb(p.path) is not None
                       else "unreadable image", source=p.source)
            continue
        made = voices == "made" or (voices == "mixed" and _person_rng(seed, p.identity, 3).random() >= P_REAL_IN_MIXED)
        jobs.append((p, sides[p.path], hr_size, voices_per_person, seed, made, scale))
    advance, stop = _progress(progress, len(jobs), "photos")
    writer = ShardWriter(out, hr_size=hr_size, source=" + ".join(str(f.resolve()) for f in sources))
    try:
        for result in _map(_photo_job, jobs, workers):
            advance()
            photo = result[0]
            if len(result) == 2:
                tally.skip(result[1], source=photo.source)
                continue
            _, hr, clips, made = result
            if made is None:  # a real voice: the person's speaker, a stretch per clip from the clip's half
                test = clips[0][0] == "test"
                speaker = real.draw_speaker(_person_rng(seed, photo.identity, 1), photo.gender, photo.age, test)
                rng = _person_rng(seed, photo.identity + "/" + photo.name, 2)
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
    return _finish(writer, tally, f"prepared set {out}", started, settings)


def _map(fn: Callable, jobs: list, workers: int) -> Iterator:
    """fn over jobs, in order: inline, or in a pool of `workers` processes."""
    if workers <= 1:
        yield from map(fn, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(fn, jobs, chunksize=8)


# ------------------------------------------------------------------------------ videos


def detect_kind(source: str | os.PathLike) -> str:
    """'photos' (images in the folder), 'lfw' (person folders and labels.csv), 'voxceleb2'
    (ID/VIDEO/CLIP videos) or 'videos'."""
    from vidsr.data.lfw import is_lfw

    source = Path(source)
    if source.is_file():
        if source.suffix.lower() in VIDEO_SUFFIXES:
            return "videos"
        raise VidsrError(f"{source} is not a video nor a folder of photos or videos")
    if not source.is_dir():
        raise VidsrError(f"{source} does not exist")
    if is_lfw(source):
        return "lfw"
    from vidsr.media.suffixes import IMAGE_SUFFIXES

    names = [p for p in source.iterdir()]
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in names if p.is_file()):
        return "photos"
    if any(p.suffix.lower() in VIDEO_SUFFIXES for p in names if p.is_file()):
        return "videos"
    if any(c.suffix.lower() in VIDEO_SUFFIXES for d in names if d.is_dir() for v in d.iterdir() if v.is_dir() for c in v.iterdir()):
        return "voxceleb2"
    raise VidsrError(f"found no photos, videos or ID/VIDEO/CLIP.mp4 tree in {source}; pass --kind")


# A face is kept only when its square crop is at least this fraction of hr_size: enlarging a
# smaller face by more than 1.33x would give a blurry "high-resolution" target that teaches
# the generator blur. GRID's ~100 px faces pass at hr_size 128 (96 px) and easily at 64.
MIN_CROP_FRACTION = 0.75
# A second face at least this fraction of the biggest one's size makes the speaker unclear.
RIVAL_FACE_FRACTION = 0.7


@dataclass(frozen=True)
class VideoClip:
    identity: str
    video: str
    clip: str
    path: Path


def list_clips(root: str | os.PathLike, layout: str = "voxceleb2") -> list[VideoClip]:
    """The clips of a video collection, sorted.

    ``voxceleb2``: ``root/ID/VIDEO/CLIP.mp4`` (identity ID, video ID/VIDEO); ``folder``:
    video files directly in `root` (or `root` itself being one), each its own identity
    and video, named by the file stem.
    """
    root = Path(root)
    if layout not in ("voxceleb2", "folder"):
        raise VidsrError(f"layout must be voxceleb2 or folder, got {layout!r}")
    if not root.exists():
        raise VidsrError(f"{root} does not exist")
    clips = []
    if layout == "folder":
        files = [root] if root.is_file() else sorted(p for p in root.iterdir() if p.is_file())
        clips = [VideoClip(p.stem, p.stem, p.stem, p) for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    else:
        for ident in sorted(p for p in root.iterdir() if p.is_dir()):
            for video in sorted(p for p in ident.iterdir() if p.is_dir()):
                for clip in sorted(p for p in video.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES):
                    clips.append(VideoClip(ident.name, f"{ident.name}/{video.name}", clip.stem, clip))
    if not clips:
        raise VidsrError(f"no videos found in {root} (layout {layout})")
    return clips


def assign_splits(clips: list[VideoClip]) -> dict[Path, str]:
    """The split of every clip: D1/D2 by video, by clip when a person has one video.

    Test identities go to "test" whole. A training identity's videos (or, with a single
    video, its clips) are put in a hashed order and alternated between D1 and D2, so that
    everyone with two or more lands in both with different material. A person with a single
    clip goes to D1 or D2 whole (splits.split_of), to keep D1 and D2 samples apart.
    """
    by_identity: dict[str, list[VideoClip]] = defaultdict(list)
    for c in clips:
        by_identity[c.identity].append(c)
    out = {}
    for identity, own in by_identity.items():
        if is_test_identity(identity):
            out.update({c.path: "test" for c in own})
            continue
        videos = {c.video for c in own}
        if len(videos) >= 2:
            side = dict(alternate(identity, videos, lambda v: "video:" + v))
            out.update({c.path: side[c.video] for c in own})
        elif len(own) >= 2:
            out.update({c.path: side for c, side in alternate(identity, own, lambda c: "clip:" + c.video + "/" + c.clip)})
        else:
            out[own[0].path] = split_of(identity, own[0].clip)
    return out


def read_labels(path: str | os.PathLike | None) -> dict[str, tuple[int, int]]:
    """{identity: (gender, age)} from a CSV whose first column is the identity and which
    has a column named like "gender" (m/f, male/female or 0/1) and optionally "age".
    VoxCeleb2's ``vox2_meta.csv`` reads as it is."""
    if path is None:
        return {}
    path = Path(path)
    try:
        rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))
    except OSError as e:
        raise VidsrError(f"cannot read labels {path}: {e.strerror}") from None
    if not rows:
        return {}
    head = [h.strip().lower() for h in rows[0]]
    gcol = next((i for i, h in enumerate(head) if "gender" in h or h == "sex"), None)
    acol = next((i for i, h in enumerate(head) if h == "age"), None)
    if gcol is None:
        raise VidsrError(f"{path} has no gender column (header: {', '.join(rows[0])})")
    genders = {"m": 0, "male": 0, "0": 0, "f": 1, "female": 1, "1": 1}
    labels = {}
    for row in rows[1:]:
        if len(row) > gcol and row[0].strip():
            age = row[acol].strip() if acol is not None and len(row) > acol else ""
            labels[row[0].strip()] = (genders.get(row[gcol].strip().lower(), -1), int(age) if age.isdigit() else -1)
    return labels


def prepare_videos(
    root: str | os.PathLike,
    out: str | os.PathLike,
    layout: str = "voxceleb2",
    hr_size: int = 128,
    every: float = 1.0,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable | None = None,
    labels: str | os.PathLike | None = None,
    device: str = "cpu",
) -> dict:
    """Make a prepared set from talking-face videos with their own sound.

    For each clip: its sound is read at 16 kHz; faces are detected and tracked
    (:func:`vidsr.faces.track_video`); one frame every `every` seconds (from every/2 on) is
    kept, its biggest face cut square (:func:`training_crop_box`, framed like the photo sets, :func:`crop_face`
    at `hr_size`) and paired with the 4 s of sound centred on the frame. Skipped, and
    counted by reason: clips without sound or unreadable, frames without a face, frames
    where a second face is nearly as big (whose voice is it?), and faces whose crop is
    smaller than MIN_CROP_FRACTION x hr_size. Gender/age come from `labels` (a CSV, see
    :func:`read_labels`), else -1. `limit` takes a seeded random subset of the clips.
    """
    from vidsr.audio import window_at
    from vidsr.errors import MediaError, NoAudioError
    from vidsr.faces import TinyFaceDetector, crop_face, iter_tracked_frames, track_video, training_crop_box
    from vidsr.media import load_audio, probe

    started = time.time()
    if every <= 0:
        raise VidsrError(f"every must be positive, got {every}")
    clips = _pick(list_clips(root, layout), limit, seed)
    splits = assign_splits(clips)
    known = read_labels(labels)
    min_side = MIN_CROP_FRACTION * hr_size
    # Faces smaller than the crop threshold are not wanted, so the detector can shrink frames.
    detector = TinyFaceDetector(device=device, min_face=max(8, int(min_side / 1.2 / 2)))
    tally = Tally()
    source = Path(root).resolve().name
    tally.read[source] = len(clips)
    advance, stop = _progress(progress, len(clips), "videos")
    writer = ShardWriter(out, hr_size=hr_size, source=str(Path(root).resolve()))
    try:
        for clip in clips:
            advance()
            try:
                info = probe(clip.path)
                wave = load_audio(clip.path)
                tracks = track_video(clip.path, detect_every=5, detector=detector)
            except NoAudioError:
                tally.skip("clip without sound", source=source)
                continue
            except MediaError:
                tally.skip("unreadable video", source=source)
                continue
            gender, age = known.get(clip.identity, (-1, -1))
            split, next_t, k = splits[clip.path], every / 2, 0
            for frame, faces in iter_tracked_frames(clip.path, tracks):
                if frame.time + 0.5 / max(info.fps, 1.0) < next_t:
                    continue
                while next_t <= frame.time + 0.5 / max(info.fps, 1.0):
                    next_t += every
                if not faces:
                    tally.skip("frame without a face", source=source)
                    continue
                sizes = sorted((max(b[2] - b[0], b[3] - b[1]), i) for i, (_, b) in enumerate(faces))
                if len(sizes) > 1 and sizes[-2][0] >= RIVAL_FACE_FRACTION * sizes[-1][0]:
                    tally.skip("frame with two faces of similar size", source=source)
                    continue
                box = training_crop_box(faces[sizes[-1][1]][1])
                if box[2] - box[0] < min_side:
                    tally.skip(f"face crop under {min_side:.0f} px", source=source)
                    continue
                hr = crop_face(frame.image, box, hr_size)
                writer.add(split, hr, window_at(wave, frame.time), identity=clip.identity,
                           gender=gender, age=age, video=clip.video, clip=k, source=source, speaker=clip.identity)
                tally.add(split, clip.identity, gender, age, source, "own", clip.identity)
                k += 1
    finally:
        stop()
    settings = {"kind": f"videos ({layout})", "source": str(Path(root).resolve()), "hr_size": hr_size, "every_s": every,
                "crop": "training_crop_box", "min_crop_px": round(min_side), "seed": seed, "limit": limit, "clips": len(clips),
                "labels": str(labels) if labels else None}
    return _finish(writer, tally, f"prepared set {out}", started, settings)
