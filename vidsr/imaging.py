"""Small image helpers shared by every floor above: resizing (:func:`resize`, the only one), face
photos made square (:func:`square_photo`), tensors <-> uint8, grids, PNG."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from vidsr.files import write_bytes


def center_square(rgb: np.ndarray) -> np.ndarray:
    """The largest centred square of an image (photos that are not square)."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return rgb[y:y + s, x:x + s]


# OpenCV's filters by name; "antialiased" is Pillow's bicubic (see resize).
_CV2_FILTERS = {"nearest": cv2.INTER_NEAREST, "bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC,
                "area": cv2.INTER_AREA}
INTERPOLATIONS = (*_CV2_FILTERS, "antialiased")


def resize(image: np.ndarray, size: int | tuple[int, int], interpolation: str, enlarge: str | None = None,
           dst: np.ndarray | None = None) -> np.ndarray:
    """A uint8 picture (HxW or HxWxC) resized to ``size``: an int for a square, or (width, height).
    Every resize of a picture in vidsr goes through here (tensors: :func:`downsample`).

    ``interpolation`` (:data:`INTERPOLATIONS`): ``nearest``, ``bilinear``, ``bicubic`` and
    ``area`` are OpenCV's (``area`` averages the source pixels each output pixel covers);
    ``antialiased`` is Pillow's bicubic, whose kernel widens over the whole source footprint
    when shrinking (the family of Matlab's ``imresize``: the filter of the training faces and
    of :func:`vidsr.faces.crop.crop_face`). ``enlarge``: another filter, used instead when the
    picture is no taller than the target (``"area", enlarge="bicubic"``: area averaging down,
    bicubic up). ``dst``: an array of the output's shape to write into (OpenCV filters only).

    A picture that already has the size is returned as it is, not copied (unless ``dst``).
    """
    width, height = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    if enlarge is not None and image.shape[0] <= height:
        interpolation = enlarge
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {interpolation!r}")
    if dst is None and image.shape[0] == height and image.shape[1] == width:
        return image
    if interpolation == "antialiased":
        if dst is not None:
            raise ValueError("dst goes with OpenCV's filters, not with 'antialiased'")
        pil = Image.fromarray(np.ascontiguousarray(image))
        return np.asarray(pil.resize((width, height), Image.Resampling.BICUBIC))
    return cv2.resize(np.ascontiguousarray(image), (width, height), dst=dst, interpolation=_CV2_FILTERS[interpolation])


def square_photo(rgb: np.ndarray, size: int, interpolation: str = "antialiased", enlarge: str | None = None,
                 whole: bool = False) -> np.ndarray:
    """A face photo as a ``size`` x ``size`` uint8 RGB square, the one way photos are made ready:
    its centred square (:func:`center_square`) resized by :func:`resize` (``antialiased``
    by default: ``vidsr prepare`` of UTKFace-style photos, ``vidsr image``).

    ``whole``: the whole photo resized instead, stretched when it is not square, and the
    generator stage's plain-folder loader asks for ``"area", enlarge="bicubic"`` with it.
    The two differ for history, not for quality: that loader made the faces the generator
    was trained on, and on square photos (UTKFace's) the crop makes no difference; the
    parameters keep each path's pixels as they were.
    """
    return resize(rgb if whole else center_square(rgb), size, interpolation, enlarge)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[3,H,W] or [B,3,H,W] in [-1,1] -> HxWx3 / BxHxWx3 uint8 RGB."""
    x = ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    return x.permute(*range(x.dim() - 3), -2, -1, -3).numpy()


def from_uint8(arr: np.ndarray) -> torch.Tensor:
    """HxWx3 / BxHxWx3 uint8 RGB -> [3,H,W] / [B,3,H,W] float in [-1,1]."""
    t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)) / 127.5 - 1  # a copy: arr may be read-only
    return t.permute(*range(t.dim() - 3), -1, -3, -2).contiguous()


def downsample(img: torch.Tensor, size: int) -> torch.Tensor:
    """The paper's D: bicubic downsampling (antialiased) of [B,3,H,W] to size x size."""
    if img.shape[-1] == size:
        return img
    return F.interpolate(img, size=(size, size), mode="bicubic", antialias=True, align_corners=False)


def upsample_bicubic(img: torch.Tensor, size: int) -> torch.Tensor:
    """[B,C,h,w] enlarged to size x size by bicubic interpolation (not clamped)."""
    return F.interpolate(img, size=(size, size), mode="bicubic", align_corners=False)


def upsample_nearest(img: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(img, size=(size, size), mode="nearest")


def grid(images: torch.Tensor, nrow: int, pad: int = 2) -> np.ndarray:
    """Tile [B,3,H,W] images in [-1,1] into one uint8 RGB picture, `nrow` images per row."""
    b, _, h, w = images.shape
    rows = (b + nrow - 1) // nrow
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    tiles = to_uint8(images)
    for i in range(b):
        r, c = divmod(i, nrow)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y:y + h, x:x + w] = tiles[i]
    return canvas


def save_png(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB uint8 image as PNG, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {path}")
    write_bytes(path, buf.tobytes())


def is_picture(path: Path) -> bool:
    """Whether an image decoder recognises the file's header (the file is not decoded)."""
    return bool(cv2.haveImageReader(str(path)))


def read_rgb(path: Path) -> np.ndarray | None:
    """Read an image file as HxWx3 uint8 RGB (None when it cannot be decoded)."""
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    return None if img is None else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
