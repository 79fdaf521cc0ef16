"""The D1 / D2 / test split of the paper's section 3.3, decided by a stable hash.

A person (an identity) is in the test split or in training; a training person's clips are
divided between D1 (E_l and E_a pre-training) and D2 (fusion), so that D1 and D2 hold the
same people with different clips, as in the paper. The decision depends only on names, so
every command (prepare, the image-folder loader of the generator stage, evaluate) agrees
without sharing state.

The rule, all of it here: a person is held out by :func:`is_test_identity` (SHA-1 of the
name); a training person's material, when they have two or more pieces (photos, videos, or
the clips of one video), alternates between D1 and D2 in a hashed order from a hashed side
(:func:`alternate`, CRC-32 of the names); a single piece goes to D1 or D2 by
:func:`split_of`. (Two hashes because the sets already made were split so; one rule.)
"""

from __future__ import annotations

import hashlib
import zlib
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")

TEST_FRACTION = 0.05
# Real voices (vidsr.data.real_voices) come from a few hundred speakers, split by the same
# hash with a larger fraction: at 5 % the 250 speakers of speechocean762 leave one adult man
# and one girl for testing, so every test man would hear the same voice; at 15 % the test
# speakers are 5 men, 13 women, 9 boys and 6 girls (33 of 250).
SPEAKER_TEST_FRACTION = 0.15
SPLITS = ("d1", "d2", "test")


def _unit(key: str) -> float:
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _order(key: str) -> float:
    return zlib.crc32(key.encode("utf-8")) / 2**32


def alternate(identity: str, items: Iterable[T], key: Callable[[T], str]) -> list[tuple[T, str]]:
    """A training person's pieces, each with "d1" or "d2": sorted by the hash of ``key(item)``
    and alternated from a side hashed from ``identity``, so each half gets about half."""
    start = int(_order("start:" + identity) < 0.5)
    ordered = sorted(items, key=lambda item: _order(key(item)))
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
