"""The D1 / D2 / test split of the paper's section 3.3, decided by a stable hash.

A person (an identity) is in the test split or in training; a training person's clips are
divided between D1 (E_l and E_a pre-training) and D2 (fusion), so that D1 and D2 hold the
same people with different clips, as in the paper. The decision depends only on names, so
every command (prepare, the image-folder loader of the generator stage, evaluate) agrees
without sharing state.
"""

from __future__ import annotations

import hashlib

TEST_FRACTION = 0.05
SPLITS = ("d1", "d2", "test")


def _unit(key: str) -> float:
    digest = hashlib.sha1(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def is_test_identity(identity: str, test_fraction: float = TEST_FRACTION) -> bool:
    """True when this identity is held out for testing."""
    return _unit("test:" + identity) < test_fraction


def split_of(identity: str, clip: str, test_fraction: float = TEST_FRACTION) -> str:
    """'test' for held-out identities, else 'd1' or 'd2' by the clip (about half each)."""
    if is_test_identity(identity, test_fraction):
        return "test"
    return "d1" if _unit("clip:" + identity + "/" + clip) < 0.5 else "d2"
