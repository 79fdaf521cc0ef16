"""Face images held in memory as one uint8 tensor, for the stages that need no audio
(the generator and E_h). Reads a plain folder of face photos or a prepared set's shards.
Test identities (``vidsr.data.splits``) are left out so that evaluation stays held-out.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from vidsr.data.splits import is_test_identity
from vidsr.errors import VidsrError
from vidsr.imaging import read_rgb, resize, square_photo
from vidsr.media.suffixes import IMAGE_SUFFIXES


def _unseen(images: np.ndarray, seen: set[bytes]) -> list[int]:
    """Indices of the images not in `seen` (by a hash of their pixels), which are added to it."""
    keep = []
    for i, image in enumerate(images):
        key = hashlib.blake2b(image.tobytes(), digest_size=16).digest()
        if key not in seen:
            seen.add(key)
            keep.append(i)
    return keep


def load_face_images(source: Path, size: int, include_test: bool = False, limit: int | None = None,
                     splits: tuple[str, ...] | None = None) -> torch.Tensor:
    """All training faces of `source` resized to size x size: uint8 [N, 3, size, size].
    A prepared set's `splits` may be named (e.g. ``("test",)``); by default D1 and D2, and
    the test split too with `include_test`."""
    source = Path(source)
    if (source / "meta.json").exists():
        from vidsr.data.shards import iter_shard_tensors

        splits = splits or (("d1", "d2", "test") if include_test else ("d1", "d2"))
        chunks, seen, faces_seen = [], 0, set()
        for tensors in iter_shard_tensors(source, splits, keys=("hr",)):
            # A photo appears once per voice clip paired with it (one row each): keep each face
            # once. Faces are told apart by their pixels, so several photos of one person stay.
            hr = tensors["hr"].numpy()
            hr = hr[_unseen(hr, faces_seen)]
            chunks.append(np.stack([resize(im, size, "area", enlarge="bicubic") for im in hr]) if len(hr) else np.zeros((0, size, size, 3), np.uint8))
            seen += len(hr)
            if limit and seen >= limit:
                break
        arr = np.concatenate(chunks)[:limit]
    elif source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not include_test:
            files = [p for p in files if not is_test_identity(p.name)]
        files = files[:limit] if limit else files
        faces = [read_rgb(p) for p in files]
        arr = np.stack([square_photo(f, size, "area", enlarge="bicubic", whole=True) for f in faces if f is not None]) if files else np.zeros((0, size, size, 3), np.uint8)
    else:
        raise VidsrError(f"no training data at {source} (expected a folder of face images or a prepared set)")
    if len(arr) == 0:
        raise VidsrError(f"no face images found in {source}")
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
