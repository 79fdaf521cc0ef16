"""Small image helpers shared by training, evaluation and the CLI: tensors <-> uint8, grids, PNG."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from vidsr.files import write_bytes


def center_square(rgb: np.ndarray) -> np.ndarray:
    """The largest centred square of an image (photos that are not square)."""
    h, w = rgb.shape[:2]
    s = min(h, w)
    y, x = (h - s) // 2, (w - s) // 2
    return rgb[y:y + s, x:x + s]


def resize_square(rgb: np.ndarray, size: int) -> np.ndarray:
    """Square uint8 RGB resized to size x size: area averaging down, bicubic up."""
    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(rgb, (size, size), interpolation=interp)


def to_uint8(img: torch.Tensor) -> np.ndarray:
    """[3,H,W] or [B,3,H,W] in [-1,1] -> HxWx3 / BxHxWx3 uint8 RGB."""
    x = ((img.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()
    return x.permute(*range(x.dim() - 3), -2, -1, -3).numpy()


def from_uint8(arr: np.ndarray) -> torch.Tensor:
    """HxWx3 / BxHxWx3 uint8 RGB -> [3,H,W] / [B,3,H,W] float in [-1,1]."""
    t = torch.from_numpy(np.ascontiguousarray(arr)).float() / 127.5 - 1
    return t.permute(*range(t.dim() - 3), -1, -3, -2).contiguous()


def downsample(img: torch.Tensor, size: int) -> torch.Tensor:
    """The paper's D: bicubic downsampling (antialiased) of [B,3,H,W] to size x size."""
    if img.shape[-1] == size:
        return img
    return F.interpolate(img, size=(size, size), mode="bicubic", antialias=True, align_corners=False)


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
