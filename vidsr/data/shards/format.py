"""The prepared set's format: names, fields, the shards' files, and checking a set.

(The layout and the fields: :mod:`vidsr.data.shards`.)
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Sequence

import torch
from safetensors import safe_open

from vidsr.audio.spectrogram import WINDOW_SAMPLES  # noqa: F401 (the samples of one window of a set)
from vidsr.data.splits import SPLITS
from vidsr.errors import VidsrError
from vidsr.media.audio import SAMPLE_RATE  # noqa: F401 (a set's sample rate)

FORMAT = "vidsr-shards/1"
SHARD_SIZE = 1000
META = "meta.json"
SUMMARY = "summary.md"
SHARDS = "shards"
INT_FIELDS = ("identity", "gender", "age", "video", "clip")
OPTIONAL_FIELDS = ("source", "speaker")  # absent from sets written before them
NAMED_FIELDS = {"identity": "identities", "video": "videos", "source": "sources", "speaker": "speakers"}


def shard_name(split: str, index: int) -> str:
    return f"{split}-{index:05d}.safetensors"



def open_set(root: str | os.PathLike) -> dict:
    """The meta of the prepared set at `root`; VidsrError with one line if missing or invalid."""
    root = Path(root)
    if not root.is_dir():
        raise VidsrError(f"no prepared set at {root} (run: vidsr prepare SOURCE -o {root})")
    meta_path = root / META
    if not meta_path.is_file():
        if (root / SHARDS).is_dir():
            raise VidsrError(f"{root} is an incomplete prepared set (no meta.json: prepare was interrupted); run vidsr prepare again")
        raise VidsrError(f"{root} is not a prepared set (no meta.json)")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise VidsrError(f"{meta_path} is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise VidsrError(f"{meta_path} is not a {FORMAT} set (format {meta.get('format') if isinstance(meta, dict) else None!r})")
    try:
        for split in SPLITS:
            for name in meta["splits"][split]["shards"]:
                if not (root / SHARDS / name).is_file():
                    raise VidsrError(f"{root} is missing shard {SHARDS}/{name}; run vidsr prepare again")
        int(meta["hr_size"]), list(meta["identities"])
    except (KeyError, TypeError, ValueError):
        raise VidsrError(f"{meta_path} lacks the fields of {FORMAT}") from None
    return meta


def _split_list(splits: str | Sequence[str]) -> list[str]:
    splits = [splits] if isinstance(splits, str) else list(splits)
    for s in splits:
        if s not in SPLITS:
            raise VidsrError(f"unknown split {s!r} (expected one of {', '.join(SPLITS)})")
    return splits


def shard_paths(root: str | os.PathLike, splits: str | Sequence[str]) -> list[Path]:
    """The shard files of `splits` in a valid set, in order."""
    meta = open_set(root)
    return [Path(root) / SHARDS / n for s in _split_list(splits) for n in meta["splits"][s]["shards"]]


def iter_shard_tensors(
    root: str | os.PathLike, splits: str | Sequence[str], keys: Sequence[str] = ("hr",)
) -> Iterator[dict[str, torch.Tensor]]:
    """Whole shards, one at a time, as {key: tensor} holding only `keys` (in set order)."""
    for path in shard_paths(root, splits):
        with safe_open(str(path), framework="pt") as f:
            yield {k: f.get_tensor(k) for k in keys}


def check_shards(root: Path) -> dict:
    """The meta of the prepared set at ``root`` (:func:`open_set`), after
    checking that every shard opens as safetensors with faces in it: a truncated or
    foreign shard is one line naming the file, before any training or evaluation."""
    from safetensors import SafetensorError

    meta = open_set(root)
    for split in meta["splits"].values():
        for name in split["shards"]:
            path = Path(root) / SHARDS / name
            try:
                with safe_open(str(path), framework="np") as f:
                    missing = {"hr", "identity"} - set(f.keys())
            except (SafetensorError, OSError) as e:
                raise VidsrError(f"corrupt shard {path} ({e}); run vidsr prepare again") from None
            if missing:
                raise VidsrError(f"corrupt shard {path} (no {', '.join(sorted(missing))}); run vidsr prepare again")
    return meta
