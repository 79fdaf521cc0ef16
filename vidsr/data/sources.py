"""Where ``vidsr prepare``'s faces come from: discovering photos (UTKFace- and LFW-style
folders) and talking-face clips (VoxCeleb2 layout or a folder), the kind of a source, and
the labels of video identities."""

from __future__ import annotations

import csv
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vidsr.data.summary import Tally
from vidsr.errors import VidsrError
from vidsr.media.suffixes import VIDEO_SUFFIXES

SPEECH_FOLDER = "speechocean762"  # real voices: by default this folder beside the first photo source
# UTKFace's own naming: AGE_GENDER_RACE_DATETIME.jpg.chip.jpg. Names that parse but do not
# follow it (no race, a space or a missing dot) are counted as notes in the summary.
REGULAR_UTKFACE_NAME = re.compile(r"^\d{1,3}_[01]_[0-4]_\d+\.jpg\.chip\.jpg$")


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


def default_speech_folder(sources: list[Path]) -> Path:
    """Where real voices are read from by default: speechocean762 beside the first source."""
    return Path(sources[0]).resolve().parent / SPEECH_FOLDER


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
