"""Where a run's time goes: seconds per stage (STAGES) for the report."""

from __future__ import annotations

import contextlib
import time
from typing import Iterable, Iterator

import numpy as np

from vidsr.pipeline.constants import STAGES


class Clock:
    """Seconds spent per stage (STAGES)."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def iterate(self, items: Iterable, stage: str) -> Iterator:
        """``items``, with the time spent producing each one added to ``stage``."""
        it = iter(items)
        while True:
            with self(stage):
                try:
                    item = next(it)
                except StopIteration:
                    return
            yield item


class TimedDetector:
    """A face detector whose ``detect`` (and ``detect_regions``) calls are timed as the
    "detect" stage."""

    def __init__(self, detector, clock: Clock):
        self.detector, self.clock = detector, clock

    def detect(self, image: np.ndarray):
        with self.clock("detect"):
            return self.detector.detect(image)

    def __getattr__(self, name: str):
        if name == "detect_regions" and hasattr(self.detector, name):  # only where the detector has it
            def detect_regions(image: np.ndarray, regions: np.ndarray):
                with self.clock("detect"):
                    return self.detector.detect_regions(image, regions)

            return detect_regions
        raise AttributeError(name)


def timings(clock: Clock, total: float) -> dict:
    """Seconds per stage, "other" (loading the model and the detector, probing, the report)
    and the total."""
    out = {k: round(v, 3) for k, v in clock.seconds.items()}
    out["other"] = round(max(0.0, total - sum(clock.seconds.values())), 3)
    out["total"] = round(total, 3)
    return out
