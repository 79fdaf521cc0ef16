"""Putting a super-resolved face back into its frame.

The model's output G(z_f) is a square face of R x R pixels (the crop of
:func:`vidsr.faces.square_box`, brought to the model's resolution). To put it back it is

1. matched in colour to the original pixels it replaces (:func:`match_colour`): the mean
   lightness and the mean and spread of the colour channels of CIE Lab are taken from the
   original, the face's own contrast (its new detail) is kept;
2. resized to the box and blended in with a feathered mask (:func:`feather_mask`): fully
   the new face in the middle, fading into the original over the outer ``feather`` of the
   box, so no seam shows around the square.

:func:`draw_inset` is the review mode: the face is drawn enlarged beside its box instead.

:class:`EnlargedFrame` does the enlarging and the pasting for an encoder that takes I420
(yuv420p) frames: the frame is enlarged plane by plane (Y, U, V, bicubic), which costs a
fraction of enlarging it in RGB and spares the encoder converting 2.7K RGB frames; only
each face's square is enlarged in RGB, pasted as :func:`paste_face` does, and converted.
"""

from __future__ import annotations

import functools
import math

import cv2
import numpy as np

from vidsr.imaging import resize

# The spread of a colour channel may be scaled at most this much (either way): a nearly
# grey original must not blow the new face's colours up, nor the reverse wash them out.
MAX_SPREAD_RATIO = 2.0


def match_colour(face: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``face`` (HxWx3 uint8 RGB) with the colour statistics of ``reference`` (any size).

    In CIE Lab: lightness L gets the reference's mean (the face's contrast is kept, since
    the reference is the blurry original and would flatten the new detail); the colour
    channels a and b get the reference's mean and standard deviation (ratio clamped to
    [1/MAX_SPREAD_RATIO, MAX_SPREAD_RATIO]).
    """
    src = cv2.cvtColor(np.ascontiguousarray(face), cv2.COLOR_RGB2LAB).astype(np.float32)
    ref = cv2.cvtColor(np.ascontiguousarray(reference), cv2.COLOR_RGB2LAB).astype(np.float32)
    out = np.empty_like(src)
    for c in range(3):
        s_mean, s_std = float(src[..., c].mean()), float(src[..., c].std())
        r_mean, r_std = float(ref[..., c].mean()), float(ref[..., c].std())
        ratio = 1.0
        if c > 0 and s_std > 1e-3:
            ratio = float(np.clip(r_std / s_std, 1 / MAX_SPREAD_RATIO, MAX_SPREAD_RATIO))
        out[..., c] = (src[..., c] - s_mean) * ratio + r_mean
    out = np.clip(out, 0, 255).round().astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_LAB2RGB)


@functools.lru_cache(maxsize=64)  # one per face size along the tracks: paste runs on every frame
def feather_mask(size: int, feather: float = 0.2) -> np.ndarray:
    """A size x size float32 weight: 1 inside, falling smoothly to 0 at the border.

    The shape is a superellipse (|x|^4 + |y|^4 = r^4, a rounded square): the face and
    the cheeks are kept, the crop's corners (background, hair) fade out first. ``feather``
    is the width of the fall-off as a fraction of the half side.
    """
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    if not 0 < feather <= 1:
        raise ValueError(f"feather must be in (0, 1], got {feather}")
    u = (np.arange(size, dtype=np.float32) + 0.5) / size * 2 - 1
    r = (u[None, :] ** 4 + u[:, None] ** 4) ** 0.25
    t = np.clip((1 - r) / feather, 0, 1)
    mask = t * t * (3 - 2 * t)  # smoothstep: no visible edge where the ramp starts
    mask.setflags(write=False)  # cached and shared
    return mask


def _square_pixels(box: np.ndarray) -> tuple[int, int, int]:
    """The whole-pixel square (x0, y0, side) nearest to ``box`` (xyxy)."""
    x0, y0, x1, y1 = (float(v) for v in np.asarray(box)[:4])
    side = max(1, int(round(max(x1 - x0, y1 - y0))))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return int(math.floor(cx - side / 2 + 0.5)), int(math.floor(cy - side / 2 + 0.5)), side


def paste_face(
    frame: np.ndarray,
    face_rgb: np.ndarray,
    box: np.ndarray,
    feather: float = 0.2,
    colour: bool = True,
) -> np.ndarray:
    """Blend ``face_rgb`` (square uint8 RGB) into ``frame`` (HxWx3 uint8, changed in place
    and returned) over the square ``box`` (xyxy in ``frame``'s pixels; the part outside
    the frame is dropped).

    ``colour``: match the face's colours to the pixels it covers first (:func:`match_colour`).
    """
    h, w = frame.shape[:2]
    x0, y0, side = _square_pixels(box)
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + side, w), min(y0 + side, h)
    if fx1 <= fx0 or fy1 <= fy0:
        return frame
    face = resize(face_rgb, side, "area", enlarge="bicubic")
    region = frame[fy0:fy1, fx0:fx1]
    inner = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
    if colour:
        face = match_colour(face, region)
    mask = feather_mask(side, feather)[inner][..., None]
    blended = face[inner].astype(np.float32) * mask + region.astype(np.float32) * (1 - mask)
    region[...] = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
    return frame


def draw_inset(
    frame: np.ndarray,
    face_rgb: np.ndarray,
    box: np.ndarray,
    size: int,
    colour: tuple[int, int, int] = (255, 210, 0),
) -> np.ndarray:
    """Review mode: outline ``box`` and draw ``face_rgb`` enlarged to ``size`` px beside it
    (right of the box, else left; kept inside the frame), joined to it by a line.
    ``frame`` is changed in place and returned."""
    h, w = frame.shape[:2]
    size = max(2, min(int(size), w, h))
    x0, y0, x1, y1 = (int(round(float(v))) for v in np.asarray(box)[:4])
    gap = max(2, size // 16)
    ix = x1 + gap if x1 + gap + size <= w else x0 - gap - size
    ix = int(np.clip(ix, 0, w - size))
    iy = int(np.clip((y0 + y1) // 2 - size // 2, 0, h - size))
    frame[iy:iy + size, ix:ix + size] = resize(face_rgb, size, "area", enlarge="bicubic")
    thickness = max(1, size // 64)
    cv2.rectangle(frame, (x0, y0), (x1, y1), colour, thickness)
    cv2.rectangle(frame, (ix, iy), (ix + size - 1, iy + size - 1), colour, thickness)
    start = (x1, (y0 + y1) // 2) if ix > x1 else (x0, (y0 + y1) // 2)
    end = (ix, iy + size // 2) if ix > x1 else (ix + size - 1, iy + size // 2)
    cv2.line(frame, start, end, colour, thickness)
    return frame


# RGB -> Y'CbCr, BT.601, limited range (8 bit): what ffmpeg's rgb24 -> yuv420p gives and
# what players assume for an untagged H.264 video.
RGB_TO_YUV = np.array([
    [0.256788, 0.504129, 0.097906, 16.0],
    [-0.148223, -0.290993, 0.439216, 128.0],
    [0.439216, -0.367789, -0.071427, 128.0],
], np.float32)  # fmt: skip


class EnlargedFrame:
    """A frame enlarged to ``size`` (width, height; even), as I420 planes in one buffer
    (:attr:`data`, (H * 3 / 2) x W uint8: Y, then U, then V), faces pasted at that size.

    >>> canvas = EnlargedFrame((2694, 1516))
    >>> canvas.draw(frame)                      # HxWx3 uint8 RGB, any size
    >>> canvas.paste(face, box)                 # box in the enlarged frame's pixels
    >>> writer.write(canvas.data)               # VideoWriter(..., pix_fmt="yuv420p")

    :meth:`draw` converts the frame to Y'CbCr at its own size and enlarges each plane
    (bicubic; U and V straight to the half-size chroma grid). :meth:`paste` enlarges
    only the face's square (even-aligned) in RGB, exactly as the whole frame would be
    (the same bicubic mapping as ``cv2.resize``), pastes with :func:`paste_face`, and
    writes the square back (its chroma the mean of each 2x2 block). The buffer is reused
    by the next :meth:`draw`.
    """

    def __init__(self, size: tuple[int, int]):
        w, h = (int(v) for v in size)
        if w < 2 or h < 2 or w % 2 or h % 2:
            raise ValueError(f"an I420 frame needs an even size of at least 2x2, got {w}x{h}")
        self.size = (w, h)
        self.data = np.empty((h * 3 // 2, w), np.uint8)
        flat = self.data.reshape(-1)
        self.y = flat[: w * h].reshape(h, w)
        self.u = flat[w * h : w * h * 5 // 4].reshape(h // 2, w // 2)
        self.v = flat[w * h * 5 // 4 :].reshape(h // 2, w // 2)
        self.image: np.ndarray | None = None

    def draw(self, image: np.ndarray) -> None:
        """Enlarge ``image`` (HxWx3 uint8 RGB) into the planes."""
        w, h = self.size
        self.image = np.ascontiguousarray(image)
        y, u, v = cv2.split(cv2.transform(self.image, RGB_TO_YUV))
        resize(y, (w, h), "bicubic", dst=self.y)
        resize(u, (w // 2, h // 2), "bicubic", dst=self.u)
        resize(v, (w // 2, h // 2), "bicubic", dst=self.v)

    def paste(self, face_rgb: np.ndarray, box: np.ndarray, feather: float = 0.2, colour: bool = True) -> None:
        """:func:`paste_face` of ``face_rgb`` over ``box`` (xyxy, enlarged pixels)."""
        w, h = self.size
        x0, y0, side = _square_pixels(box)
        rx0, ry0 = max(x0, 0) // 2 * 2, max(y0, 0) // 2 * 2
        rx1, ry1 = min(w, (x0 + side + 1) // 2 * 2), min(h, (y0 + side + 1) // 2 * 2)
        if rx1 <= rx0 or ry1 <= ry0:
            return
        sh, sw = self.image.shape[:2]
        sx, sy = w / sw, h / sh
        # dst pixel (X, Y) <- src ((X + 0.5) / sx - 0.5, ...), as cv2.resize maps them.
        matrix = np.array([[1 / sx, 0, (rx0 + 0.5) / sx - 0.5], [0, 1 / sy, (ry0 + 0.5) / sy - 0.5]], np.float64)
        region = cv2.warpAffine(self.image, matrix, (rx1 - rx0, ry1 - ry0),
                                flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        offset = np.array([rx0, ry0, rx0, ry0], np.float32)
        paste_face(region, face_rgb, np.asarray(box, np.float32)[:4] - offset, feather, colour)
        yuv = cv2.transform(region, RGB_TO_YUV)
        half = ((rx1 - rx0) // 2, (ry1 - ry0) // 2)
        self.y[ry0:ry1, rx0:rx1] = yuv[..., 0]
        for c, plane in ((1, self.u), (2, self.v)):
            plane[ry0 // 2 : ry1 // 2, rx0 // 2 : rx1 // 2] = resize(yuv[..., c], half, "area")
