"""What the two drivers of ``vidsr prepare`` (:mod:`vidsr.data.photos`, :mod:`vidsr.data.videos`)
share: progress, seeded choices, a pool of workers, and finishing a set."""

from __future__ import annotations

import time
import zlib
from collections import Counter
from typing import Callable, Iterator

import numpy as np

from vidsr.data.shards import ShardWriter
from vidsr.data.summary import Tally, summary_markdown
from vidsr.errors import VidsrError

# A face is kept only when its square crop is at least this fraction of hr_size: enlarging a
# smaller face by more than 1.33x would give a blurry "high-resolution" target that teaches
# the generator blur. GRID's ~100 px faces pass at hr_size 128 (96 px) and easily at 64.
MIN_CROP_FRACTION = 0.75


def progress_reporter(progress: Callable | None, total: int | None, what: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(advance, stop) reporting to ``progress(what, done, total)``, or no-ops."""
    if not progress:
        return (lambda n=1: None), (lambda: None)
    done = [0]
    progress(what, 0, total)

    def advance(n: int = 1) -> None:
        done[0] += n
        progress(what, done[0], total)

    return advance, (lambda: None)


def finish_set(writer: ShardWriter, tally: Tally, title: str, started: float, settings: dict) -> dict:
    summary = tally.summary(settings=settings)
    if not any(writer.counts.values()):
        writer.discard()
        why = ", ".join(f"{reason} ({n})" for reason, n in Counter(summary["skipped"]).most_common(3))
        raise VidsrError(f"no usable samples in {' + '.join(summary['sources']) or 'the input'}"
                         + (f": skipped {why}" if why else ": nothing to read"))
    summary["seconds"] = round(time.time() - started, 1)
    writer.close(summary=summary, summary_md=summary_markdown(summary, title))
    return summary


def person_rng(seed: int, name: str, stream: int = 0) -> np.random.Generator:
    """An RNG for one person (or photo) that depends only on the seed, the name and the
    stream (not on order or limit)."""
    key = [seed, zlib.crc32(name.encode("utf-8"))]
    return np.random.default_rng(key + [stream] if stream else key)


def pick(items: list, limit: int | None, seed: int) -> list:
    """A seeded random subset of `limit` items, in their original order (all when None)."""
    if limit is None or limit >= len(items):
        return items
    keep = np.sort(np.random.default_rng([seed, 7]).choice(len(items), size=max(0, limit), replace=False))
    return [items[i] for i in keep]


def map_jobs(fn: Callable, jobs: list, workers: int) -> Iterator:
    """fn over jobs, in order: inline, or in a pool of `workers` processes."""
    if workers <= 1:
        yield from map(fn, jobs)
        return
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(workers) as pool:
        yield from pool.imap(fn, jobs, chunksize=8)
