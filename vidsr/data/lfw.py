"""Labeled Faces in the Wild (deep-funneled): loosely framed faces of named people.

The folder holds ``PERSON/PERSON_NNNN.jpg`` (250x250) and ``labels.csv`` (image, person,
gender male/female/empty). The identity is the person, so a person with several photos has
real identity labels.

The photos are aligned, so one fixed crop frames every face alike. Measured with the
project's detector (``python research/scripts/measure_framing.py``: MTCNN on 50 random LFW photos, the
largest face of each), the box is 93.3 px wide (interquartile range 89-98) with its centre
at (125.4, 126.1) (IQR 120-131, 124-129): :data:`LFW_BOX`. LFW is cut with the pipeline's
own rule around that box, :func:`vidsr.faces.crop.training_crop_box`, so a photo is framed
as the pipeline frames a face it detects in a video frame: at the ``tight`` scale
(TRAINING_CROP_SCALE, 1.2 box widths, the framing measured on UTKFace) that is a 112 px
square centred 6.7 px below the box centre. The ``loose`` scale keeps that centre and
shows the hair (UTKFace photos cannot be cut looser than they are).

How well the sources agree, measured the same way on both (the detector run on the face
photo itself, the same script, 50 photos each): UTKFace photos are 1.19 box widths (IQR
1.15-1.24) with their centre 0.046 of the side below the box centre (IQR 0.035-0.066); the
tight LFW crops 1.22 (1.17-1.28) and 0.019 (0.006-0.036). The box MTCNN finds in a cut-out
face sits a little lower than the one it finds in the whole frame, so the pipeline's crops
(and these) are framed about 0.03 of the side (0.3 px of a 10 px face) higher than UTKFace's
photos: about the width of UTKFace's own interquartile range.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vidsr.errors import VidsrError

LABELS = "labels.csv"
LFW_FRAME = 250  # px: the side of LFW's photos, in which LFW_BOX is given
LFW_BOX = np.array([125.43 - 93.30 / 2, 126.05 - 93.30 / 2, 125.43 + 93.30 / 2, 126.05 + 93.30 / 2], np.float32)
LOOSE_CROP_SCALE = 1.7  # box widths: the hair and the chin, and a little of the neck


def framing_scale(framing: str | float) -> float:
    """The crop's side in detector-box widths: 'tight' (the training faces' 1.2), 'loose'
    (:data:`LOOSE_CROP_SCALE`) or a number (a string of one is read as one)."""
    from vidsr.faces.crop import TRAINING_CROP_SCALE

    named = {"tight": TRAINING_CROP_SCALE, "loose": LOOSE_CROP_SCALE}
    if isinstance(framing, str) and framing in named:
        return named[framing]
    try:
        scale = float(framing)
    except ValueError:
        raise VidsrError(f"framing must be tight, loose or a scale in box widths (e.g. 1.5), got {framing!r}") from None
    if not 0.5 <= scale <= 2.5:
        raise VidsrError(f"framing scale must be between 0.5 and 2.5 box widths, got {scale}")
    return scale


def lfw_crop_box(rgb: np.ndarray, scale: float) -> np.ndarray:
    """The square crop (xyxy) of an LFW photo at `scale` box widths: training_crop_box around
    LFW_BOX, scaled from the 250 px frame to the photo's own size."""
    from vidsr.faces.crop import training_crop_box

    return training_crop_box(LFW_BOX * (rgb.shape[1] / LFW_FRAME), scale)


def lfw_crop_side(rgb: np.ndarray, scale: float) -> float:
    """The side in pixels of :func:`lfw_crop_box`."""
    box = lfw_crop_box(rgb, scale)
    return float(box[2] - box[0])


def crop_lfw(rgb: np.ndarray, size: int, scale: float) -> np.ndarray:
    """The face of an LFW photo cut at `scale` box widths (:func:`lfw_crop_box`) as size x size uint8."""
    from vidsr.faces.crop import crop_face

    return crop_face(rgb, lfw_crop_box(rgb, scale), size)


@dataclass(frozen=True)
class LfwPhoto:
    path: Path
    person: str
    gender: int  # 0 male, 1 female, -1 unknown

    @property
    def name(self) -> str:
        return self.path.name


def is_lfw(folder: str | os.PathLike) -> bool:
    """True when `folder` looks like LFW: a labels.csv whose header has image and person."""
    table = Path(folder) / LABELS
    if not table.is_file():
        return False
    with table.open(encoding="utf-8-sig") as f:
        head = [h.strip().lower() for h in f.readline().split(",")]
    return "image" in head and "person" in head


def list_lfw(folder: str | os.PathLike) -> tuple[list[LfwPhoto], dict[str, int]]:
    """The photos listed in ``labels.csv`` (sorted by image path), and the rows left out by
    reason (listed but missing on disk)."""
    folder = Path(folder)
    table = folder / LABELS
    try:
        rows = list(csv.DictReader(table.read_text(encoding="utf-8-sig").splitlines()))
    except (OSError, UnicodeDecodeError) as e:
        raise VidsrError(f"cannot read {table}: {e}") from None
    if not rows or not {"image", "person"} <= set(rows[0]):
        raise VidsrError(f"{table} needs the columns image, person[, gender]")
    genders = {"male": 0, "m": 0, "female": 1, "f": 1}
    photos, missing = [], 0
    for r in sorted(rows, key=lambda r: r["image"]):
        path = folder / r["image"].strip()
        if not path.is_file():
            missing += 1
            continue
        photos.append(LfwPhoto(path, r["person"].strip(), genders.get((r.get("gender") or "").strip().lower(), -1)))
    if not photos:
        raise VidsrError(f"none of the images listed in {table} is in {folder}")
    return photos, ({"listed in labels.csv but not found": missing} if missing else {})
