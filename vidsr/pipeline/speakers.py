"""Whose voice: which face track each stretch of speech belongs to (``--voice-to``).

- ``"auto"``: per stretch, the tracks visible during it (VISIBLE_SHARE of its frames) are
  the candidates. None: the voice goes to no one. One: to that track. Several: to the one
  whose mouth follows the loudness of the sound, if it leads the next by SPEAKER_MARGIN
  (Pearson correlation, over the stretch widened by SPEAKER_CONTEXT s, both signals
  smoothed over SPEAKER_SMOOTH s), else to no one. The mouth signal is how open the mouth
  looks: how much darker the mouth region of the face's box is than its upper half (at
  8-16 px the frame-to-frame difference of the lower half follows head motion as much as
  speech; openness separated the speaker better on the GRID test clips).
- a track id: every stretch during which that track is visible goes to it.

A stretch is never given to two tracks. ``"all"`` (every face hears the window around its
frame) needs no assignment and is not handled here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from vidsr.pipeline.constants import MAX_STRETCH, SPEAKER_CONTEXT, SPEAKER_MARGIN, SPEAKER_SMOOTH, VISIBLE_SHARE

MOUTH_GRID = 16  # the face's box is resampled to this many pixels a side to find its mouth
MOUTH_ROWS, MOUTH_COLS = slice(10, 14), slice(5, 11)  # the mouth region of that grid
UPPER_ROWS, UPPER_COLS = slice(2, 8), slice(3, 13)  # eyes and forehead: the reference


@dataclass
class Stretch:
    """One stretch of speech and the track it was given (None: no one)."""

    start: float
    end: float
    track: int | None = None
    candidates: list[int] = field(default_factory=list)
    scores: dict[int, float] = field(default_factory=dict)  # auto: correlation per candidate

    def as_dict(self) -> dict:
        row = {"start": self.start, "end": self.end, "track": self.track}
        if self.scores:
            row["correlation"] = {str(t): round(c, 3) for t, c in self.scores.items()}
        return row


def split_long(stretches: list[tuple[float, float]], longest: float = MAX_STRETCH) -> list[tuple[float, float]]:
    """Stretches longer than ``longest`` s cut into equal pieces of at most that length."""
    out = []
    for s, e in stretches:
        n = max(1, int(np.ceil((e - s) / longest - 1e-9)))
        out += [(round(s + (e - s) * i / n, 3), round(s + (e - s) * (i + 1) / n, 3)) for i in range(n)]
    return out


def frames_in(start: float, end: float, fps: float) -> range:
    """The frame indices whose times fall in [start, end)."""
    return range(max(0, int(np.ceil(start * fps - 1e-9))), max(0, int(np.ceil(end * fps - 1e-9))))


def visible(stretch: Stretch, tracks: dict, fps: float) -> list[int]:
    """The ids of ``tracks`` that hold at least VISIBLE_SHARE of the stretch's frames."""
    frames = frames_in(stretch.start, stretch.end, fps)
    if not len(frames):
        return []
    out = []
    for tid, t in tracks.items():
        shared = max(0, min(t.last, frames[-1]) - max(t.first, frames[0]) + 1)  # tracks' frames are consecutive
        if shared >= VISIBLE_SHARE * len(frames):
            out.append(tid)
    return out


def mouth_openness(image_grey: np.ndarray, box: np.ndarray) -> float:
    """How open the mouth in ``box`` (the detector's xyxy box) looks: the mean of the
    upper face minus the mean of the mouth region, on a MOUTH_GRID-pixel resampling."""
    import cv2

    x0, y0, x1, y1 = (float(v) for v in box[:4])
    n = MOUTH_GRID
    warp = np.array([[(x1 - x0) / n, 0, x0], [0, (y1 - y0) / n, y0]], np.float32)
    face = cv2.warpAffine(image_grey, warp, (n, n), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)
    return float(face[UPPER_ROWS, UPPER_COLS].mean() - face[MOUTH_ROWS, MOUTH_COLS].mean())


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1 or len(x) < n:
        return x
    return np.convolve(x, np.ones(n) / n, mode="same")


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson's r of two equally long signals (0 where either is constant)."""
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 1e-12 else 0.0


def _mouth_signals(path: str, tracks: dict, contested: list[Stretch], fps: float) -> dict[tuple[int, int], float]:
    """Mouth openness of each candidate of each contested stretch, at each frame of its
    widened span: {(track id, frame): openness}. One pass over the video's frames."""
    import cv2

    from vidsr.faces import iter_tracked_frames

    wanted: dict[int, set[int]] = {}  # frame -> the tracks whose mouth is wanted there
    for s in contested:
        for g in frames_in(s.start - SPEAKER_CONTEXT, s.end + SPEAKER_CONTEXT, fps):
            wanted.setdefault(g, set()).update(s.candidates)
    last = max(wanted)
    found: dict[tuple[int, int], float] = {}
    needed = [tracks[t] for t in sorted({t for s in contested for t in s.candidates})]
    for frame, boxes in iter_tracked_frames(path, needed):
        if frame.index > last:
            break
        ids = wanted.get(frame.index)
        if not ids:
            continue
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        for tid, box in boxes:
            if tid in ids:
                found[(tid, frame.index)] = mouth_openness(grey, box)
    return found


def _decide(stretch: Stretch, mouths: dict, speech, fps: float) -> None:
    """Give a contested stretch to the face whose mouth follows the loudness (see module)."""
    from vidsr.audio.vad import envelope

    frames = np.array(frames_in(stretch.start - SPEAKER_CONTEXT, stretch.end + SPEAKER_CONTEXT, fps))
    loud = envelope(speech, frames / fps)
    n = max(1, round(SPEAKER_SMOOTH * fps))
    for tid in stretch.candidates:
        have = np.array([(tid, g) in mouths for g in frames])
        if have.sum() < 3:
            stretch.scores[tid] = 0.0
            continue
        mouth = np.array([mouths[(tid, g)] for g in frames[have]])
        stretch.scores[tid] = correlation(_smooth(mouth, n), _smooth(loud[have], n))
    ranked = sorted(stretch.scores.items(), key=lambda kv: -kv[1])
    best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else (None, -1.0)
    if best[1] > 0 and best[1] - runner_up[1] >= SPEAKER_MARGIN:
        stretch.track = best[0]


def assign(stretches: list[tuple[float, float]], tracks: dict, voice_to: str | int, *, path: str, speech,
           fps: float) -> list[Stretch]:
    """The stretches of speech (cut to MAX_STRETCH), each with the track it goes to.

    ``tracks``: the enhanced tracks by id; ``speech``: the track's
    :class:`vidsr.audio.vad.Speech` (its loudness); ``path``: the video (decoded once more
    when several faces are visible during some stretch, for their mouths)."""
    result = [Stretch(s, e) for s, e in split_long(stretches)]
    for s in result:
        s.candidates = visible(s, tracks, fps)
    if voice_to != "auto":
        for s in result:
            s.track = voice_to if voice_to in s.candidates else None
        return result
    contested = [s for s in result if len(s.candidates) > 1]
    for s in result:
        if len(s.candidates) == 1:
            s.track = s.candidates[0]
    if contested:
        mouths = _mouth_signals(path, tracks, contested, fps)
        for s in contested:
            _decide(s, mouths, speech, fps)
    return result
