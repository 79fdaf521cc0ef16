"""Face images held in memory as one uint8 tensor, for the stages that need no audio
(the generator and E_h). Reads a plain folder of face photos or a prepared set's shards.
Test identities (``vidsr.data.splits``) are left out so that evaluation stays held-out.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vidsr.data.shards import resize_face
from vidsr.data.splits import is_test_identity
from vidsr.errors import VidsrError
from vidsr.imaging import read_rgb

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def load_face_images(source: Path, size: int, include_test: bool = False, limit: int | None = None) -> torch.Tensor:
    """All training faces of `source` resized to size x size: uint8 [N, 3, size, size]."""
    source = Path(source)
    if (source / "meta.json").exists():
        from vidsr.data.shards import iter_shard_tensors

        splits = ("d1", "d2", "test") if include_test else ("d1", "d2")
        chunks, seen, identities = [], 0, set()
        for tensors in iter_shard_tensors(source, splits, keys=("hr", "identity")):
            # A person has several clips (one row each) but one face: keep each face once.
            keep = [i for i, ident in enumerate(tensors["identity"].tolist()) if not (ident in identities or identities.add(ident))]
            hr = tensors["hr"].numpy()[keep]
            chunks.append(np.stack([resize_face(im, size) for im in hr]) if len(hr) else np.zeros((0, size, size, 3), np.uint8))
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
        arr = np.stack([resize_face(f, size) for f in faces if f is not None]) if files else np.zeros((0, size, size, 3), np.uint8)
    else:
        raise VidsrError(f"no training data at {source} (expected a folder of face images or a prepared set)")
    if len(arr) == 0:
        raise VidsrError(f"no face images found in {source}")
    return torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
