"""Writing a prepared set: :class:`ShardWriter` (each shard atomically, meta.json last, so
that a killed ``prepare`` never leaves a set that looks complete)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

from vidsr.data import HR_SIZE
from vidsr.data.shards.format import (
    FORMAT, INT_FIELDS, META, NAMED_FIELDS, OPTIONAL_FIELDS, SAMPLE_RATE, SHARD_SIZE, SHARDS, SPLITS, SUMMARY,
    WINDOW_SAMPLES, shard_name,
)
from vidsr.errors import VidsrError
from vidsr.files import atomic_path, partial_name, write_text


def _to_int16(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio).reshape(-1)
    if audio.dtype == np.int16:
        return audio
    return np.clip(np.round(audio.astype(np.float32) * 32767.0), -32768, 32767).astype(np.int16)


class ShardWriter:
    """Writes a prepared set, one split buffer of `shard_size` samples at a time.

    Use as a context manager, or call :meth:`close`; if the block raises, no meta.json is
    written and the folder stays visibly incomplete. An existing set at `root` is replaced
    (its meta.json is deleted first); a folder holding anything else is refused.
    """

    def __init__(
        self,
        root: str | os.PathLike,
        hr_size: int = HR_SIZE,
        source: str = "",
        shard_size: int = SHARD_SIZE,
        window_samples: int = WINDOW_SAMPLES,
        sample_rate: int = SAMPLE_RATE,
    ):
        self.root = Path(root)
        self.hr_size = int(hr_size)
        self.source = str(source)
        self.shard_size = int(shard_size)
        self.window_samples = int(window_samples)
        self.sample_rate = int(sample_rate)
        self.names: dict[str, list[str]] = {k: [] for k in NAMED_FIELDS}  # field -> meta list
        self._ix: dict[str, dict[str, int]] = {k: {} for k in NAMED_FIELDS}
        self._shards: dict[str, list[str]] = {s: [] for s in SPLITS}
        self._counts: dict[str, int] = {s: 0 for s in SPLITS}
        self._buffers: dict[str, dict[str, np.ndarray]] = {}
        self._fill: dict[str, int] = {s: 0 for s in SPLITS}
        self.closed = False
        self._start()

    def _start(self) -> None:
        root = self.root
        if root.exists() and not root.is_dir():
            raise VidsrError(f"{root} exists and is not a folder")
        if root.is_dir():
            ours = {META, SUMMARY, SHARDS, partial_name(META).name, partial_name(SUMMARY).name}
            others = [p.name for p in root.iterdir() if p.name not in ours]
            if others:
                raise VidsrError(f"{root} is not empty and not a prepared set ({others[0]}, ...): choose another output folder")
            (root / META).unlink(missing_ok=True)  # from now on the old set is incomplete
            (root / SUMMARY).unlink(missing_ok=True)
            shards = root / SHARDS
            if shards.is_dir():
                for p in shards.iterdir():
                    if p.name.endswith(".safetensors") or p.name.endswith(".partial"):
                        p.unlink()
        (root / SHARDS).mkdir(parents=True, exist_ok=True)

    @property
    def identities(self) -> list[str]:
        return self.names["identity"]

    @property
    def videos(self) -> list[str]:
        return self.names["video"]

    def index(self, field: str, name: str | None) -> int:
        """The index of `name` in the meta list of `field` (added on first use); -1 for None."""
        if name is None:
            return -1
        ix = self._ix[field]
        if name not in ix:
            ix[name] = len(self.names[field])
            self.names[field].append(name)
        return ix[name]

    def identity_index(self, name: str) -> int:
        """The index of identity `name` in meta ``identities`` (added on first use)."""
        return self.index("identity", name)

    def video_index(self, name: str) -> int:
        """The index of video `name` in meta ``videos`` (added on first use)."""
        return self.index("video", name)

    def _buffer(self, split: str) -> dict[str, np.ndarray]:
        if split not in self._buffers:
            n, s = self.shard_size, self.hr_size
            self._buffers[split] = {
                "hr": np.zeros((n, s, s, 3), np.uint8),
                "audio": np.zeros((n, self.window_samples), np.int16),
                **{k: np.full(n, -1, np.int64) for k in INT_FIELDS + OPTIONAL_FIELDS},
            }
        return self._buffers[split]

    def add(
        self,
        split: str,
        hr: np.ndarray,
        audio: np.ndarray,
        identity: str,
        gender: int = -1,
        age: int = -1,
        video: str | None = None,
        clip: int = -1,
        source: str | None = None,
        speaker: str | None = None,
    ) -> None:
        """Add one sample: `hr` uint8 [S, S, 3] RGB, `audio` [64000] (float in [-1, 1] or int16).

        `identity`, `video`, `source` and `speaker` are names (the video defaults to the
        identity; source and speaker to unknown).
        """
        if self.closed:
            raise RuntimeError("ShardWriter is closed")
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        hr = np.asarray(hr)
        if hr.shape != (self.hr_size, self.hr_size, 3) or hr.dtype != np.uint8:
            raise ValueError(f"hr must be uint8 [{self.hr_size}, {self.hr_size}, 3], got {hr.dtype} {hr.shape}")
        audio = _to_int16(audio)
        if audio.shape != (self.window_samples,):
            raise ValueError(f"audio must have {self.window_samples} samples, got {audio.shape}")
        buf, i = self._buffer(split), self._fill[split]
        buf["hr"][i] = hr
        buf["audio"][i] = audio
        buf["identity"][i] = self.identity_index(identity)
        buf["gender"][i] = gender if gender in (0, 1) else -1
        buf["age"][i] = age if age is not None and age >= 0 else -1
        buf["video"][i] = self.video_index(video if video is not None else identity)
        buf["clip"][i] = clip
        buf["source"][i] = self.index("source", source)
        buf["speaker"][i] = self.index("speaker", speaker)
        self._fill[split] = i + 1
        self._counts[split] += 1
        if self._fill[split] == self.shard_size:
            self._flush(split)

    def _flush(self, split: str) -> None:
        n = self._fill[split]
        if n == 0:
            return
        name = shard_name(split, len(self._shards[split]))
        path = self.root / SHARDS / name
        tensors = {k: np.ascontiguousarray(v[:n]) for k, v in self._buffers[split].items()}
        with atomic_path(path) as tmp:
            save_file(tensors, str(tmp), metadata={"format": FORMAT, "split": split})
        self._shards[split].append(name)
        self._fill[split] = 0

    @property
    def counts(self) -> dict[str, int]:
        return dict(self._counts)

    def close(self, summary: dict | None = None, summary_md: str | None = None) -> dict:
        """Write the last shards, then summary.md, then meta.json (last). Returns the meta."""
        for split in SPLITS:
            self._flush(split)
        self._buffers.clear()
        meta = {
            "format": FORMAT,
            "hr_size": self.hr_size,
            "sample_rate": self.sample_rate,
            "window_samples": self.window_samples,
            "source": self.source,
            "splits": {s: {"count": self._counts[s], "shards": list(self._shards[s])} for s in SPLITS},
            **{NAMED_FIELDS[k]: v for k, v in self.names.items()},
            "summary": summary or {},
        }
        if summary_md is not None:
            write_text(self.root / SUMMARY, summary_md)
        write_text(self.root / META, json.dumps(meta, indent=1))
        self.closed = True
        return meta

    def discard(self) -> None:
        """Remove what this writer wrote (a set it could not finish): its shards, then the
        shards folder and the set's folder where they are left empty."""
        self._buffers.clear()
        for names in self._shards.values():
            for name in names:
                (self.root / SHARDS / name).unlink(missing_ok=True)
        for folder in (self.root / SHARDS, self.root):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        self.closed = True

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and not self.closed:
            self.close()
        self._buffers.clear()
