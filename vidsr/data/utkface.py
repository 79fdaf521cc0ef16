"""Face photo folders: UTKFace label parsing and listing the photos of a folder.

UTKFace names its files ``AGE_GENDER_RACE_DATETIME.jpg.chip.jpg`` (GENDER 0 male,
1 female; RACE 0-4; two files of the public copy lack the race field). Photos of any
other folder get unknown labels (-1). Every photo is its own identity, named by its
file name, which is also what :mod:`vidsr.data.splits` hashes to hold test people out.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path


from vidsr.errors import VidsrError
from vidsr.media.suffixes import IMAGE_SUFFIXES

_UTK = re.compile(r"^(\d{1,3})_([01])(?:_(\d))?_\d+")


@dataclass(frozen=True)
class FaceLabels:
    age: int = -1  # years, -1 unknown
    gender: int = -1  # 0 male, 1 female, -1 unknown
    race: int = -1  # UTKFace 0..4, -1 unknown


def parse_utkface_name(name: str) -> FaceLabels:
    """Labels from a UTKFace file name (unknown fields are -1; other names give all -1).

    >>> parse_utkface_name("26_1_2_20170116172803530.jpg.chip.jpg")
    FaceLabels(age=26, gender=1, race=2)
    """
    m = _UTK.match(os.path.basename(name))
    if not m:
        return FaceLabels()
    age, gender, race = m.groups()
    return FaceLabels(int(age), int(gender), int(race) if race is not None else -1)


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files directly inside `folder`, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise VidsrError(f"no folder of face images at {folder}")
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
