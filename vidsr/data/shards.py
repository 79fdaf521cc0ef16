"""The on-disk training set ("prepared set"): face + 4 s of voice per sample, in shards.

Layout of a set ``SET/``::

    SET/meta.json                         written last: its presence means "complete"
    SET/summary.md                        what prepare did (counts, skips), for people
    SET/shards/{split}-{i:05d}.safetensors  about 1,000 samples each, split in d1/d2/test

``meta.json``: ``{"format": "vidsr-shards/1", "hr_size", "sample_rate", "window_samples",
"source", "splits": {"d1": {"count", "shards": [...]}, "d2": ..., "test": ...},
"identities": [names], "videos": [names], "sources": [names], "speakers": [names], "summary": {...}}``.

Each shard holds, for its N samples:

=========  ====================  ==================================================
``hr``     uint8 [N, S, S, 3]    the RGB face, S = hr_size
``audio``  int16 [N, 64000]      the 4 s, 16 kHz window of that sample
``identity`` int64 [N]           index into meta ``identities``
``gender`` int64 [N]             0 male, 1 female, -1 unknown
``age``    int64 [N]             years, -1 unknown
``video``  int64 [N]             index into meta ``videos`` (a photo is its own "video")
``clip``   int64 [N]             the clip's number within its video (photos: sentence no.)
``source`` int64 [N]             index into meta ``sources`` (the face's source folder), -1 unknown
``speaker`` int64 [N]            index into meta ``speakers`` (whose voice it is), -1 unknown
=========  ====================  ==================================================

``source`` and ``speaker`` are newer than the format's other fields: sets written before
them lack them (and meta ``sources`` / ``speakers``), and readers yield them only where present.

:class:`ShardWriter` writes a set (each shard atomically, meta.json last, so that a killed
``prepare`` never leaves a set that looks complete); :class:`ShardDataset` streams one
from disk (never the whole set in memory) for training; :func:`open_set` validates one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

from vidsr.audio.spectrogram import WINDOW_SAMPLES
from vidsr.data.splits import SPLITS
from vidsr.errors import VidsrError
from vidsr.files import atomic_path, partial_name, write_text
from vidsr.media.audio import SAMPLE_RATE

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
        hr_size: int = 128,
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


def resize_face(rgb: np.ndarray, size: int) -> np.ndarray:
    """Square uint8 RGB resized to size x size: area averaging down, bicubic up."""
    import cv2

    if rgb.shape[0] == size and rgb.shape[1] == size:
        return rgb
    interp = cv2.INTER_AREA if rgb.shape[0] > size else cv2.INTER_CUBIC
    return cv2.resize(rgb, (size, size), interpolation=interp)


def _rank_world() -> tuple[int, int] | None:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return None


def _consumer(rank_world: tuple[int, int] | None = None) -> tuple[int, int]:
    """(index, count) of this reader among all DataLoader workers of all distributed ranks."""
    rank, world = rank_world or _rank_world() or (0, 1)
    info = torch.utils.data.get_worker_info()
    wid, nworkers = (info.id, info.num_workers) if info is not None else (0, 1)
    return rank * nworkers + wid, world * nworkers


class ShardDataset(torch.utils.data.IterableDataset):
    """Streams samples of a prepared set from disk for training.

    Yields dicts: ``hr`` float32 [3, S, S] in [-1, 1] (resized to `hr_size` when given),
    ``audio`` float32 [64000] in [-1, 1] (when `with_audio`; augmented by
    :func:`vidsr.audio.augment.augment` when `augment_audio`), and ints ``identity``,
    ``gender``, ``age``, ``video``, ``clip``.

    Each epoch the shard order is shuffled (same order on every reader, from `seed` and
    the epoch), rows are read in a random order within a shard and pass through a shuffle
    buffer of `shuffle_buffer` samples. Readers (DataLoader workers x distributed ranks)
    split the work: with at least as many shards as readers each reads its own shards,
    otherwise each reads every n-th sample. Readers may then see slightly different
    numbers of samples per epoch: with distributed training count steps, not epochs
    (``epochs=None`` streams forever). Memory: one buffer of samples per reader
    (about 180 KB per sample at S = 128).
    """

    def __init__(
        self,
        root: str | os.PathLike,
        splits: str | list[str],
        shuffle: bool = True,
        seed: int = 0,
        shuffle_buffer: int = 2000,
        with_audio: bool = True,
        augment_audio: bool = False,
        epochs: int | None = None,
        hr_size: int | None = None,
    ):
        super().__init__()
        self.root = Path(root)
        self.meta = open_set(self.root)
        self.splits = _split_list(splits)
        self.files = [self.root / SHARDS / n for s in self.splits for n in self.meta["splits"][s]["shards"]]
        self.num_samples = sum(int(self.meta["splits"][s]["count"]) for s in self.splits)
        if self.num_samples == 0:
            raise VidsrError(f"{self.root} has no samples in split {'+'.join(self.splits)}")
        self.shuffle = shuffle
        self.seed = int(seed)
        self.shuffle_buffer = max(1, int(shuffle_buffer)) if shuffle else 1
        self.with_audio = with_audio
        self.augment_audio = augment_audio
        self.epochs = epochs
        self.hr_size = int(hr_size) if hr_size else int(self.meta["hr_size"])
        self.identities: list[str] = self.meta["identities"]
        # Read now, in the process that set up torch.distributed: spawned DataLoader
        # workers do not see the process group.
        self._rank_world = _rank_world()

    def _rows(self, epoch: int, reader: int, readers: int) -> Iterator[tuple[Path, list[int]]]:
        """(shard, row indices) this reader reads in this epoch."""
        order = np.arange(len(self.files))
        if self.shuffle:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.files))
        rng = np.random.default_rng([self.seed, epoch, reader, 1])
        if len(self.files) >= readers:
            for k in order[reader::readers]:
                yield self.files[k], None
            return
        first = 0  # fewer shards than readers: interleave samples
        for k in order:
            path = self.files[k]
            with safe_open(str(path), framework="np") as f:
                n = f.get_slice("identity").get_shape()[0]
            rows = [i for i in range(n) if (first + i) % readers == reader]
            first += n
            if self.shuffle:
                rng.shuffle(rows)
            yield path, rows

    def _read(self, path: Path, rows: list[int] | None, rng: np.random.Generator) -> Iterator[dict]:
        with safe_open(str(path), framework="np") as f:
            ints = {k: f.get_tensor(k) for k in INT_FIELDS + OPTIONAL_FIELDS if k in f.keys()}
            if rows is None:
                rows = list(rng.permutation(len(ints["identity"]))) if self.shuffle else range(len(ints["identity"]))
            hr, audio = f.get_slice("hr"), (f.get_slice("audio") if self.with_audio else None)
            for i in rows:
                i = int(i)
                sample = {"hr": hr[i], **{k: int(v[i]) for k, v in ints.items()}}
                if audio is not None:
                    sample["audio"] = audio[i : i + 1][0]
                yield sample

    def _finish(self, sample: dict, rng: np.random.Generator) -> dict:
        rgb = resize_face(np.asarray(sample["hr"]), self.hr_size)
        sample["hr"] = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(127.5).sub_(1.0)
        if "audio" in sample:
            wave = np.asarray(sample["audio"], np.float32) / 32768.0
            if self.augment_audio:
                from vidsr.audio.augment import augment

                wave = augment(wave, rng)
            sample["audio"] = torch.from_numpy(np.ascontiguousarray(wave, np.float32))
        return sample

    def __iter__(self) -> Iterator[dict]:
        reader, readers = _consumer(self._rank_world)
        epoch = 0
        while self.epochs is None or epoch < self.epochs:
            rng = np.random.default_rng([self.seed, epoch, reader, 2])
            buffer: list[dict] = []
            for path, rows in self._rows(epoch, reader, readers):
                for sample in self._read(path, rows, rng):
                    if len(buffer) < self.shuffle_buffer:
                        buffer.append(sample)
                        continue
                    j = int(rng.integers(len(buffer)))
                    buffer[j], sample = sample, buffer[j]
                    yield self._finish(sample, rng)
            if self.shuffle:
                rng.shuffle(buffer)
            for sample in buffer:
                yield self._finish(sample, rng)
            epoch += 1
