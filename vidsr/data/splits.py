"""The D1 / D2 / test split of the paper's section 3.3, decided by a stable hash.

A person (an identity) is in the test split or in training; a training person's clips are
divided between D1 (E_l and E_a pre-training) and D2 (fusion), so that D1 and D2 hold the
same people with different clips, as in the paper. The decision depends only on names, so
every command (prepare, the image-folder loader of the generator stage, evaluate) agrees
without sharing state.

The rule, all of it here, on one hash (SHA-1 of a prefixed name, :func:`_unit`): a person is
held out by :func:`is_test_identity`; a training person's material, when they have two or
more pieces (photos, videos, or the clips of one video), alternates between D1 and D2 in a
hashed order from a hashed side (:func:`alternate`); a single piece goes to D1 or D2 by
:func:`split_of`.

In sets made by earlier versions the order and side of :func:`alternate` came from CRC-32 of the same names. The
test people were never decided by it, so the held-out test split of every set is the same
(G was trained on the others: ``tests/test_data.py`` pins known test members); only which
of a person's several pieces go to D1 and which to D2 changed (LFW people with several photos,
people with several videos or clips). Sets made before keep the split they were made with.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, TypeVar

import numpy as np

if TYPE_CHECKING:
    from vidsr.data.sources import Photo, VideoClip

T = TypeVar("T")

TEST_FRACTION = 0.05
# Real voices (vidsr.data.real_voices) come from a few hundred speakers, split by the same
# hash with a larger fraction: at 5 % the 250 speakers of speechocean762 leave one adult man
# and one girl for testing, so every test man would hear the same voice; at 15 % the test
# speakers are 5 men, 13 women, 9 boys and 6 girls (33 of 250).
SPEAKER_TEST_FRACTION = 0.15
SPLITS = ("d1", "d2", "test")


def _unit(key: str) -> float:
    """A name's place in [0, 1): the first 8 bytes of its SHA-1."""
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def alternate(identity: str, items: Iterable[T], key: Callable[[T], str]) -> list[tuple[T, str]]:
    """A training person's pieces, each with "d1" or "d2": sorted by the hash of ``key(item)``
    and alternated from a side hashed from ``identity``, so each half gets about half."""
    start = int(_unit("start:" + identity) < 0.5)
    ordered = sorted(items, key=lambda item: _unit(key(item)))
    return [(item, ("d1", "d2")[(start + i) % 2]) for i, item in enumerate(ordered)]


def is_test_identity(identity: str, test_fraction: float = TEST_FRACTION) -> bool:
    """True when this identity is held out for testing."""
    return _unit("test:" + identity) < test_fraction


def is_test_speaker(speaker: str) -> bool:
    """True when this real speaker's voice is held out for testing (SPEAKER_TEST_FRACTION)."""
    return is_test_identity(speaker, SPEAKER_TEST_FRACTION)


def split_of(identity: str, clip: str, test_fraction: float = TEST_FRACTION) -> str:
    """'test' for held-out identities, else 'd1' or 'd2' by the clip (about half each)."""
    if is_test_identity(identity, test_fraction):
        return "test"
    return "d1" if _unit("clip:" + identity + "/" + clip) < 0.5 else "d2"


def _people(items: Iterable[T]) -> list[tuple[str, list[T], bool]]:
    """(identity, its items, whether it is held out for testing), in first-seen order."""
    by_identity: dict[str, list[T]] = defaultdict(list)
    for item in items:
        by_identity[item.identity].append(item)
    return [(identity, own, is_test_identity(identity)) for identity, own in by_identity.items()]


def photo_sides(photos: list[Photo]) -> dict[Path, str]:
    """Where each photo's clips go: 'test' (test people), 'd1' or 'd2' (a person with several
    photos: their photos, in a hashed order, alternate between D1 and D2 from a hashed side,
    so D1 and D2 hold different photos of them) or 'both' (a person's only photo: its clips
    alternate between D1 and D2)."""
    sides = {}
    for identity, own, test in _people(photos):
        if test:
            sides.update({p.path: "test" for p in own})
        elif len(own) == 1:
            sides[own[0].path] = "both"
        else:
            sides.update({p.path: side for p, side in alternate(identity, own, lambda p: "photo:" + p.name)})
    return sides


def photo_clip_splits(side: str, identity: str, clips: int, rng: np.random.Generator) -> list[str]:
    """The split of each clip of a photo on `side` (see photo_sides)."""
    first = int(rng.integers(2))  # alternate d1/d2 from a random side, so the halves balance
    if side != "both":
        return [side] * clips
    if clips == 1:
        return [split_of(identity, "0")]
    return [("d1", "d2")[(first + k) % 2] for k in range(clips)]


def assign_splits(clips: list[VideoClip]) -> dict[Path, str]:
    """The split of every clip: D1/D2 by video, by clip when a person has one video.

    Test identities go to "test" whole. A training identity's videos (or, with a single
    video, its clips) are put in a hashed order and alternated between D1 and D2, so that
    everyone with two or more lands in both with different material. A person with a single
    clip goes to D1 or D2 whole (splits.split_of), to keep D1 and D2 samples apart.
    """
    out = {}
    for identity, own, test in _people(clips):
        if test:
            out.update({c.path: "test" for c in own})
            continue
        videos = {c.video for c in own}
        if len(videos) >= 2:
            side = dict(alternate(identity, videos, lambda v: "video:" + v))
            out.update({c.path: side[c.video] for c in own})
        elif len(own) >= 2:
            out.update({c.path: side for c, side in alternate(identity, own, lambda c: "clip:" + c.video + "/" + c.clip)})
        else:
            out[own[0].path] = split_of(identity, own[0].clip)
    return out
