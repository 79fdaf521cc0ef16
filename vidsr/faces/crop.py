"""Cutting square face crops out of frames.

A face box from the detector is turned into a square around the face's centre
(:func:`square_box`) and then cut out and resampled to the model's input size
(:func:`crop_face`). Pixels outside the frame are filled by repeating the edge, so a face
at the border still gives a full crop.

Shrinking uses an antialiased bicubic filter (Pillow's, the same family as Matlab's
``imresize``: ``vidsr.imaging.resize(..., "antialiased")``), so an 8x8 crop of a face in a
video looks like the bicubic-downsampled faces the model is trained on (the training photos
are made with the same filter, :func:`vidsr.imaging.square_photo`).
"""

from __future__ import annotations

import cv2
import numpy as np

from vidsr.imaging import resize


def square_box(box: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """A square box (xyxy, float32) with the same centre as ``box``.

    Its side is ``max(w, h) * (1 + margin)``: ``margin=0.2`` adds 10 % of the face size on
    every side, a negative margin crops tighter than the box.
    """
    x0, y0, x1, y1 = np.asarray(box, dtype=np.float64)[:4]
    side = max(x1 - x0, y1 - y0) * (1.0 + margin)
    if side <= 0:
        raise ValueError(f"box {box!r} with margin {margin} has no area")
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2, side / 2
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)


# Where the training faces sit relative to an MTCNN box: UTKFace's aligned crops are
# 1.20x the box width on a side, centred 0.06 of that side below the box centre (median of
# 25 adult photos, interquartile ranges 0.04 and 0.03). Cropping video faces the same way
# shows the model faces framed as in training.
TRAINING_CROP_SCALE = 1.20
TRAINING_CROP_SHIFT = 0.06


def training_crop_box(box: np.ndarray, scale: float = TRAINING_CROP_SCALE) -> np.ndarray:
    """The square box (xyxy, float32) around a detected face that frames it as the
    training faces are framed (see TRAINING_CROP_SCALE / TRAINING_CROP_SHIFT).

    ``scale``: the square's side in box widths (a looser framing, e.g. 1.7, shows the hair);
    the centre stays where the 1.2x crop puts it, whatever the scale."""
    x0, y0, x1, y1 = np.asarray(box, dtype=np.float64)[:4]
    if not scale > 0:
        raise ValueError(f"crop scale must be positive, got {scale}")
    side = (x1 - x0) * scale
    if side <= 0:
        raise ValueError(f"box {box!r} has no area")
    shift = TRAINING_CROP_SHIFT * (x1 - x0) * TRAINING_CROP_SCALE
    cx, cy, half = (x0 + x1) / 2, (y0 + y1) / 2 + shift, side / 2
    return np.array([cx - half, cy - half, cx + half, cy + half], dtype=np.float32)


def own_crop_side(width: float, scale: float, lo: int, hi: int) -> int:
    """The side, in pixels, of a face's crop at its own resolution: its crop box (``scale``
    times the detector box ``width``) rounded, between ``lo`` (the model's input l) and ``hi``
    (its output R). The back-projection's target is cut at this size, so a face wider than l
    keeps every pixel the picture has of it (E_l still sees the l x l input it was trained on)."""
    return int(min(max(round(width * scale), lo), hi))


def crop_face(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """Cut ``box`` (xyxy, original-frame pixels, sub-pixel allowed) out of ``image`` as a
    ``size`` x ``size`` x 3 uint8 crop.

    The box is stretched to a square output, so pass a square box (:func:`square_box`)
    to keep the face's proportions. Outside the frame the edge pixels are repeated.
    When the box is bigger than ``size`` it is first cut at its own resolution (a
    bilinear resample that only shifts by a fraction of a pixel, no shrinking) and then
    shrunk with the antialiased filter (``resize(..., "antialiased")``); when it is smaller it is
    enlarged directly with bicubic interpolation.
    """
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an HxWx3 image, got shape {image.shape}")
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box)[:4])
    w, h = x1 - x0, y1 - y0
    if w <= 0 or h <= 0:
        raise ValueError(f"box {box!r} has no area")

    # Cut at (about) the box's own resolution first, then shrink with antialiasing.
    native = max(size, int(round(max(w, h))))
    interp = cv2.INTER_LINEAR if native > size else cv2.INTER_CUBIC
    # Affine map from output pixel centres to source coordinates (pixel centres at
    # integers, so the output pixel i covers source x0 + (i + 0.5) * w / native - 0.5).
    sx, sy = w / native, h / native
    matrix = np.array(
        [[sx, 0.0, x0 + 0.5 * sx - 0.5], [0.0, sy, y0 + 0.5 * sy - 0.5]], dtype=np.float64
    )
    crop = cv2.warpAffine(
        np.ascontiguousarray(image),
        matrix,
        (native, native),
        flags=interp | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    if native != size:
        crop = resize(crop, size, "antialiased")
    return crop
