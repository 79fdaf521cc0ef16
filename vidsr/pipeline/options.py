"""The options of :func:`vidsr.pipeline.enhance_video`: their checks and defaults."""

from __future__ import annotations

import math

import numpy as np

from vidsr.errors import VidsrError
from vidsr.faces import DETECT_EVERY
from vidsr.pipeline.constants import BATCH, MAX_OUTPUT, MODES, VOICE_TO
from vidsr.pipeline.drawing import DEFAULT, Drawing


def default_face_range(lr_size: int) -> tuple[float, float]:
    """The faces replaced by default, (1, 2l): every face found (the detector looks from 8 px)
    up to twice the model's input (1:16 for an 8 px input). A bigger face shrunk to l x l would
    lose more detail than G puts back."""
    return (1.0, 2.0 * lr_size)


def parse_voice_to(value: str | int) -> str | int:
    """``--voice-to``: "auto", "all" or a track id (an int >= 0); VidsrError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value).strip().lower()
    if text in VOICE_TO:
        return text
    if text.isdigit():
        return int(text)
    raise VidsrError(f"--voice-to must be {' | '.join(VOICE_TO)} or a track id (0, 1, ...), got {value!r}")


def check_options(mode: str = "both", batch: int = BATCH, detect_every: int = DETECT_EVERY,
                  scale: float | None = None, face_range: tuple[float, float] | None = None,
                  crop_scale: float | None = None, voice_to: str | int = "auto", drawing: Drawing = DEFAULT, **_) -> None:
    """VidsrError for an option :func:`enhance_video` cannot use (a :class:`Drawing` checks its
    own values when it is made)."""
    parse_voice_to(voice_to)
    if not isinstance(drawing, Drawing):
        raise VidsrError(f"drawing must be a vidsr.pipeline.drawing.Drawing, got {type(drawing).__name__}")
    if mode not in MODES:
        raise VidsrError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if batch < 1:
        raise VidsrError(f"batch must be at least 1, got {batch}")
    if detect_every < 1:
        raise VidsrError(f"detect_every must be at least 1, got {detect_every}")
    if scale is not None and not scale > 0:
        raise VidsrError(f"scale must be positive, got {scale}")
    if crop_scale is not None and not crop_scale > 0:
        raise VidsrError(f"crop scale must be positive, got {crop_scale}")
    if face_range is not None and not 0 < face_range[0] <= face_range[1]:
        raise VidsrError(f"face range must be MIN:MAX with 0 < MIN <= MAX, got {face_range[0]:g}:{face_range[1]:g}")


def default_scale(width: int, height: int, resolution: int, crop_sides: list[float]) -> float:
    """Enough enlargement for the median face crop to show the model's R pixels, keeping
    the frame within MAX_OUTPUT; at least 1. Rounded down to 2 decimals, so that rounding
    never takes the frame over MAX_OUTPUT (608x541 at 1.99x, not 2x: 1216x1082)."""
    if not crop_sides:
        return 1.0
    wanted = resolution / float(np.median(crop_sides))
    cap = min(MAX_OUTPUT[0] / width, MAX_OUTPUT[1] / height)
    return max(1.0, math.floor(min(wanted, cap) * 100) / 100)
