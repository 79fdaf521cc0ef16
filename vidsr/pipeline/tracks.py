"""The faces along their tracks: one face on its way through the model, the smoothing
weights along a track, a track's size, and the flicker between consecutive faces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np


@dataclass
class Face:
    """One face in one frame on its way through the model."""

    track: int
    frame: int
    time: float
    box: np.ndarray  # the square crop, xyxy in input pixels
    crop: np.ndarray  # x_l as l x l x 3 uint8
    own: np.ndarray | None = None  # the face's own pixels: the same box at its track's own_side, n x n x 3 uint8
    z: object = None  # z_f [k, d] before smoothing
    image: np.ndarray | None = None  # G(smoothed z_f), R x R x 3 uint8
    raw: np.ndarray | None = None  # G(z_f) (only to measure flicker)


@dataclass
class Flicker:
    """Mean absolute change (0-255) between consecutive faces of a track: of the faces
    written (``smoothed``, every pair) and of G(z_f) before smoothing (``raw``: over the
    pairs where both faces have one, ``raw_pairs``; the pipeline samples them)."""

    previous: np.ndarray | None = None
    previous_raw: np.ndarray | None = None
    total: float = 0.0
    total_raw: float = 0.0
    pairs: int = 0
    raw_pairs: int = 0

    def add(self, image: np.ndarray, raw: np.ndarray | None) -> None:
        if self.previous is not None:
            self.total += float(np.abs(image.astype(np.int16) - self.previous).mean())
            self.pairs += 1
            if raw is not None and self.previous_raw is not None:
                self.total_raw += float(np.abs(raw.astype(np.int16) - self.previous_raw).mean())
                self.raw_pairs += 1
        self.previous, self.previous_raw = image, raw

    def as_dict(self) -> dict:
        if not self.pairs:
            return {"raw": None, "smoothed": None, "pairs": 0}
        raw = round(self.total_raw / self.raw_pairs, 3) if self.raw_pairs else None
        return {"raw": raw, "smoothed": round(self.total / self.pairs, 3), "pairs": self.pairs}


def smoothing_weights(radius: int) -> np.ndarray:
    """Triangular weights w_j = r + 1 - |j| for j = -r..r (a box filter applied twice)."""
    return (radius + 1 - np.abs(np.arange(-radius, radius + 1))).astype(np.float32)


def frames_covered(tracks: Iterable) -> int:
    """How many frames have at least one of ``tracks`` (each covers first..last)."""
    total, end = 0, -1
    for first, last in sorted((t.first, t.last) for t in tracks):
        if last > end:
            total += last - max(first, end + 1) + 1
            end = last
    return total


def track_size(track) -> float:
    """A track's face size: the median width of its boxes, in pixels (as Track.mean_size:
    "a 12 px face" is 12 px wide; MTCNN's boxes are about 1.4 times as high)."""
    b = np.asarray(track.boxes, np.float64).reshape(-1, 4)
    return float(np.median(b[:, 2] - b[:, 0]))


def own_side(track, crop_scale: float, lr_size: int, resolution: int) -> int:
    """The side of a track's crops at the face's own resolution
    (:func:`vidsr.faces.crop.own_crop_side` of :func:`track_size`): one size for the whole track."""
    from vidsr.faces.crop import own_crop_side

    return own_crop_side(track_size(track), crop_scale, lr_size, resolution)
