"""Face photo folders: UTKFace label parsing and a small map-style dataset.

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

import numpy as np
import torch

from vidsr.data.splits import is_test_identity
from vidsr.errors import VidsrError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
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


def center_square(rgb: np.ndarray) -> np.ndarray:
    """The largest centred square of an image (photos that are not square)."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return rgb[y:y + s, x:x + s]


class FaceFolder(torch.utils.data.Dataset):
    """A plain folder of face photos, for stages without audio.

    ``split``: "train" (photos of training identities), "test" (held-out identities) or
    "all". Items: ``hr`` float32 [3, S, S] in [-1, 1] (centre square, resized with area
    averaging down / bicubic up), ``identity`` (index into ``self.files``), ``gender``,
    ``age`` (UTKFace labels, -1 when unknown).
    """

    def __init__(self, root: str | os.PathLike, hr_size: int = 128, split: str = "train"):
        if split not in ("train", "test", "all"):
            raise ValueError(f"split must be train, test or all, got {split!r}")
        files = list_images(root)
        if split != "all":
            files = [p for p in files if is_test_identity(p.name) == (split == "test")]
        if not files:
            raise VidsrError(f"no face images ({split}) in {root}")
        self.files = files
        self.hr_size = int(hr_size)
        self.labels = [parse_utkface_name(p.name) for p in files]

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> dict:
        from vidsr.data.shards import resize_face
        from vidsr.imaging import read_rgb

        rgb = read_rgb(self.files[i])
        if rgb is None:
            raise VidsrError(f"cannot read image {self.files[i]}")
        rgb = resize_face(np.ascontiguousarray(center_square(rgb)), self.hr_size)
        hr = torch.from_numpy(rgb).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
        lab = self.labels[i]
        return {"hr": hr, "identity": i, "gender": lab.gender, "age": lab.age}
