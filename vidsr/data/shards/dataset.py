"""Reading a prepared set for training: :class:`ShardDataset` streams it from disk (never
the whole set in memory), split across DataLoader workers and distributed ranks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from safetensors import safe_open

from vidsr.data.shards.format import INT_FIELDS, OPTIONAL_FIELDS, SHARDS, _split_list, open_set
from vidsr.errors import VidsrError
from vidsr.imaging import resize


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
        rgb = resize(np.asarray(sample["hr"]), self.hr_size, "area", enlarge="bicubic")
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
