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

:mod:`~vidsr.data.shards.format`: the names, fields and :func:`open_set` (validates a set),
:func:`check_shards` (every shard opens); :mod:`~vidsr.data.shards.writer`: :class:`ShardWriter`
writes a set (each shard atomically, meta.json last, so that a killed ``prepare`` never leaves
a set that looks complete); :mod:`~vidsr.data.shards.dataset`: :class:`ShardDataset` streams
one from disk (never the whole set in memory) for training.
"""

from vidsr.data.shards.dataset import ShardDataset
from vidsr.data.shards.format import (
    FORMAT, INT_FIELDS, META, NAMED_FIELDS, OPTIONAL_FIELDS, SAMPLE_RATE, SHARD_SIZE, SHARDS, SUMMARY, WINDOW_SAMPLES,
    check_shards, iter_shard_tensors, open_set, shard_name, shard_paths,
)
from vidsr.data.shards.writer import ShardWriter

__all__ = [
    "FORMAT", "INT_FIELDS", "META", "NAMED_FIELDS", "OPTIONAL_FIELDS", "SAMPLE_RATE", "SHARD_SIZE", "SHARDS", "SUMMARY",
    "WINDOW_SAMPLES", "ShardDataset", "ShardWriter", "check_shards", "iter_shard_tensors", "open_set", "shard_name",
    "shard_paths",
]
