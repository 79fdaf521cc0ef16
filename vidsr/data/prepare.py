"""``vidsr prepare``: turn photos or talking-face videos into a prepared set (see shards.py).

Two sources:

- :func:`prepare_photos`: a folder of face photos (UTKFace). Photos have no sound, so every
  photo becomes a person with a made voice of their own (:mod:`vidsr.data.voices`, drawn
  to match the photo's gender and age labels) reading ``voices_per_person`` different
  sentences; each (photo, sentence) is one sample.
- :func:`prepare_videos`: talking-face videos, VoxCeleb2-style ``ID/VIDEO/CLIP.mp4`` or a
  plain folder (identity = file stem). Faces are tracked and cropped square, and each kept
  frame is paired with the 4 s of the clip's own sound centred on it.

The splits follow the paper (section 3.3, 4.1): D1 and D2 hold the same people with
different clips, and test people (:func:`vidsr.data.splits.is_test_identity`) are held out
entirely. Both functions return a summary (counts per split and gender, skipped items and
why, settings, wall time), print it as a table and save it as ``summary.md`` and in
``meta.json``.
"""

from __future__ import annotations

import csv
import os
import time
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from vidsr.data.shards import ShardWriter
from vidsr.data.splits import SPLITS, is_test_identity, split_of
from vidsr.errors import VidsrError

GENDER_NAMES = {0: "male", 1: "female", -1: "unknown"}
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".mpg", ".mpeg", ".webm", ".m4v")


# ----------------------------------------------------------------------------- summary


class Tally:
    """Counts samples per split and gender, identities per split, and skips by reason."""

    def __init__(self) -> None:
        self.samples: Counter = Counter()  # (split, gender name) -> n
        self.identities: dict[str, set] = defaultdict(set)
        self.skipped: Counter = Counter()  # reason -> n

    def add(self, split: str, identity: str, gender: int) -> None:
        self.samples[split, GENDER_NAMES.get(gender, "unknown")] += 1
        self.identities[split].add(identity)

    def skip(self, reason: str, n: int = 1) -> None:
        self.skipped[reason] += n

    def summary(self, **extra) -> dict:
        splits = {}
        for s in SPLITS:
            by_gender = {g: self.samples[s, g] for g in GENDER_NAMES.values()}
            splits[s] = {"samples": sum(by_gender.values()), "identities": len(self.identities[s]), **by_gender}
        train = self.identities["d1"] | self.identities["d2"]
        return {
            "splits": splits,
            "samples": sum(v["samples"] for v in splits.values()),
            "identities": {
                "train": len(train),
                "in_both_d1_d2": len(self.identities["d1"] & self.identities["d2"]),
                "test": len(self.identities["test"]),
            },
            "skipped": dict(sorted(self.skipped.items())),
            **extra,
        }


def summary_markdown(summary: dict, title: str) -> str:
    """The summary as a small Markdown document (summary.md)."""
    lines = [f"# {title}", "", "| split | samples | identities | male | female | unknown |", "|---|---:|---:|---:|---:|---:|"]
    for s, v in summary["splits"].items():
        lines.append(f"| {s} | {v['samples']} | {v['identities']} | {v['male']} | {v['female']} | {v['unknown']} |")
    ids = summary["identities"]
    lines += ["", f"Training identities: {ids['train']} ({ids['in_both_d1_d2']} in both D1 and D2); test identities: {ids['test']}.", ""]
    if summary["skipped"]:
        lines += ["| skipped | count |", "|---|---:|"] + [f"| {k} | {v} |" for k, v in summary["skipped"].items()] + [""]
    else:
        lines += ["Nothing was skipped.", ""]
    lines += ["Settings:", ""] + [f"- {k}: {v}" for k, v in summary.get("settings", {}).items()]
    lines += ["", f"Wall time: {summary.get('seconds', 0):.0f} s", ""]
    return "\n".join(lines)


def print_summary(summary: dict, title: str) -> None:
    """Print the summary as rich tables."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("split", "samples", "identities", "male", "female", "unknown"):
        table.add_column(col, justify="left" if col == "split" else "right")
    for s, v in summary["splits"].items():
        table.add_row(s, *(str(v[k]) for k in ("samples", "identities", "male", "female", "unknown")))
    console = Console()
    console.print(table)
    ids = summary["identities"]
    console.print(f"training identities {ids['train']} ({ids['in_both_d1_d2']} in both D1 and D2), test identities {ids['test']}")
    if summary["skipped"]:
        skipped = Table(title="skipped")
        skipped.add_column("reason")
        skipped.add_column("count", justify="right")
        for k, v in summary["skipped"].items():
            skipped.add_row(k, str(v))
        console.print(skipped)
    console.print(f"wall time {summary.get('seconds', 0):.0f} s")


def _progress(enabled: bool, total: int | None, what: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance, stop) of a rich progress bar, or no-ops."""
    if not enabled:
        return (lambda n=1: None), (lambda: None)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    bar = Progress(TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn())
    task = bar.add_task(what, total=total)
    bar.start()
    return (lambda n=1: bar.advance(task, n)), bar.stop


def _finish(writer: ShardWriter, tally: Tally, title: str, started: float, settings: dict, progress: bool) -> dict:
    summary = tally.summary(settings=settings)
    summary["seconds"] = round(time.time() - started, 1)
    writer.close(summary=summary, summary_md=summary_markdown(summary, title))
    if progress:
        print_summary(summary, title)
    return summary


def _person_rng(seed: int, name: str) -> np.random.Generator:
    """An RNG for one person that depends only on the seed and the name (not on order or limit)."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])


# ------------------------------------------------------------------------------ photos


def _photo_job(job: tuple) -> tuple:
    """Read, crop and resize one photo, and speak its clips. Runs in a worker process or inline.

    Returns (name, labels, hr, [(split, clip, wave)], voice) or (name, skip reason).
    """
    from vidsr.data.utkface import center_square, parse_utkface_name
    from vidsr.data.voices import draw_sentences, draw_voice, synthesize
    from vidsr.faces.crop import resize_image
    from vidsr.imaging import read_rgb

    path, hr_size, clips, seed = job
    name = os.path.basename(path)
    labels = parse_utkface_name(name)
    if labels.gender not in (0, 1):
        return name, "no gender label (a voice cannot be matched)"
    rgb = read_rgb(Path(path))
    if rgb is None:
        return name, "unreadable image"
    hr = resize_image(np.ascontiguousarray(center_square(rgb)), hr_size)  # antialiased bicubic
    rng = _person_rng(seed, name)
    voice = draw_voice(rng, labels.gender, labels.age if labels.age >= 0 else None)
    test = is_test_identity(name)
    first = int(rng.integers(2))  # alternate d1/d2 from a random side, so the halves balance
    out = []
    for k, sentence in enumerate(draw_sentences(rng, clips)):
        if test:
            split = "test"
        elif clips >= 2:
            split = ("d1", "d2")[(first + k) % 2]
        else:
            split = split_of(name, str(k))
        out.append((split, k, synthesize(voice, sentence, rng)))
    return name, labels, hr, out, voice


def _pick(items: list, limit: int | None, seed: int) -> list:
    """A seeded random subset of `limit` items, in their original order (all when None)."""
    if limit is None or limit >= len(items):
        return items
    keep = np.sort(np.random.default_rng([seed, 7]).choice(len(items), size=max(0, limit), replace=False))
    return [items[i] for i in keep]


def prepare_photos(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    voices_per_person: int = 3,
    hr_size: int = 128,
    seed: int = 0,
    limit: int | None = None,
    progress: bool = True,
    workers: int = 1,
) -> dict:
    """Make a prepared set from a folder of face photos with gender labels (UTKFace names).

    Every photo is a person (identity = file name) with a voice of their own, drawn from a
    seeded RNG to match their gender and age, reading `voices_per_person` different sentences
    (clips). The photo is centre-squared and resized to `hr_size` (antialiased bicubic). A
    training person's clips alternate between D1 and D2 (so with 2+ clips each is in both);
    test people are held out entirely. Photos without a gender label are skipped (no voice
    can be matched to them). `limit` takes a seeded random subset of the photos; `workers`
    > 1 speaks in that many processes (only worth it with idle cores).
    """
    from vidsr.data.utkface import list_images
    from vidsr.data.voices import espeak_exe

    started = time.time()
    espeak_exe()  # fail at once, not after the first photo
    if voices_per_person < 1:
        raise VidsrError("voices_per_person must be at least 1")
    files = _pick(list_images(folder), limit, seed)
    if not files:
        raise VidsrError(f"no face images in {folder}")
    tally = Tally()
    jobs = [(str(p), hr_size, voices_per_person, seed) for p in files]
    advance, stop = _progress(progress, len(jobs), "photos")
    writer = ShardWriter(out, hr_size=hr_size, source=str(Path(folder).resolve()))
    try:
        for result in _map(_photo_job, jobs, workers):
            advance()
            if len(result) == 2:
                tally.skip(result[1])
                continue
            name, labels, hr, clips, _voice = result
            for split, k, wave in clips:
                writer.add(split, hr, wave, identity=name, gender=labels.gender, age=labels.age, video=name, clip=k)
                tally.add(split, name, labels.gender)
    finally:
        stop()
    settings = {"kind": "photos", "source": str(Path(folder).resolve()), "hr_size": hr_size,
                "voices_per_person": voices_per_person, "seed": seed, "limit": limit, "photos": len(files)}
    return _finish(writer, tally, f"prepared set {out}", started, settings, progress)


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
    """'photos' (images in the folder), 'voxceleb2' (ID/VIDEO/CLIP videos) or 'videos'."""
    source = Path(source)
    if source.is_file():
        if source.suffix.lower() in VIDEO_SUFFIXES:
            return "videos"
        raise VidsrError(f"{source} is not a video nor a folder of photos or videos")
    if not source.is_dir():
        raise VidsrError(f"{source} does not exist")
    from vidsr.data.utkface import IMAGE_SUFFIXES

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


def _unit(key: str) -> float:
    return zlib.crc32(key.encode("utf-8")) / 2**32


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
        videos = sorted({c.video for c in own}, key=lambda v: _unit("video:" + v))
        start = int(_unit("start:" + identity) < 0.5)
        if len(videos) >= 2:
            side = {v: ("d1", "d2")[(start + i) % 2] for i, v in enumerate(videos)}
            out.update({c.path: side[c.video] for c in own})
        elif len(own) >= 2:
            ordered = sorted(own, key=lambda c: _unit("clip:" + c.video + "/" + c.clip))
            out.update({c.path: ("d1", "d2")[(start + i) % 2] for i, c in enumerate(ordered)})
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
    progress: bool = True,
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
                tally.skip("clip without sound")
                continue
            except MediaError:
                tally.skip("unreadable video")
                continue
            gender, age = known.get(clip.identity, (-1, -1))
            split, next_t, k = splits[clip.path], every / 2, 0
            for frame, faces in iter_tracked_frames(clip.path, tracks):
                if frame.time + 0.5 / max(info.fps, 1.0) < next_t:
                    continue
                while next_t <= frame.time + 0.5 / max(info.fps, 1.0):
                    next_t += every
                if not faces:
                    tally.skip("frame without a face")
                    continue
                sizes = sorted((max(b[2] - b[0], b[3] - b[1]), i) for i, (_, b) in enumerate(faces))
                if len(sizes) > 1 and sizes[-2][0] >= RIVAL_FACE_FRACTION * sizes[-1][0]:
                    tally.skip("frame with two faces of similar size")
                    continue
                box = training_crop_box(faces[sizes[-1][1]][1])
                if box[2] - box[0] < min_side:
                    tally.skip(f"face crop under {min_side:.0f} px")
                    continue
                hr = crop_face(frame.image, box, hr_size)
                writer.add(split, hr, window_at(wave, frame.time), identity=clip.identity,
                           gender=gender, age=age, video=clip.video, clip=k)
                tally.add(split, clip.identity, gender)
                k += 1
    finally:
        stop()
    settings = {"kind": f"videos ({layout})", "source": str(Path(root).resolve()), "hr_size": hr_size, "every_s": every,
                "crop": "training_crop_box", "min_crop_px": round(min_side), "seed": seed, "limit": limit, "clips": len(clips),
                "labels": str(labels) if labels else None}
    return _finish(writer, tally, f"prepared set {out}", started, settings, progress)
