"""Faces of a whole video: track once, then look them up frame by frame.

:func:`track_video` streams the video once (constant memory: one frame at a time) and
returns the smoothed face tracks. A later pass (enhancing the faces) streams the video
again and asks, for each frame, where the faces are: :func:`faces_by_frame` builds that
look-up from the tracks, and :func:`iter_tracked_frames` walks a video's frames with the
faces in each.
"""

from __future__ import annotations

import os
from typing import Callable, Iterator

import numpy as np

from vidsr.faces import DETECT_EVERY
from vidsr.faces.track import FaceTracker, Track
from vidsr.media import Frame, VideoReader

Progress = Callable[[int, int], None]
"""``progress(frames_done, frames_expected)``; the expected count is an estimate."""


def track_video(
    path: str | os.PathLike,
    detect_every: int = DETECT_EVERY,
    min_face: int = 8,
    device: str = "cpu",
    progress: Progress | None = None,
    *,
    detector=None,
    times: list[float] | None = None,
    **tracker_options,
) -> list[Track]:
    """Find and follow the faces in the video at ``path``.

    Runs the detector (:class:`TinyFaceDetector` with ``min_face`` and ``device``, or the
    ``detector`` you pass) every ``detect_every`` frames; ``tracker_options`` go to
    :class:`FaceTracker`. ``progress`` is called after every frame; ``times`` (a list),
    when given, gets every frame's timestamp (seconds) appended. Raises
    :class:`vidsr.errors.MediaError` for a file that is not a readable video.
    """
    with VideoReader(path) as reader:
        if detector is None:
            from vidsr.faces.detect import TinyFaceDetector

            detector = TinyFaceDetector(device=device, min_face=min_face)
        tracker = FaceTracker(detector, detect_every=detect_every, **tracker_options)
        expected = reader.info.num_frames
        for frame in reader:
            tracker.update(frame.index, frame.image)
            if times is not None:
                times.append(frame.time)
            if progress is not None:
                progress(frame.index + 1, max(expected, frame.index + 1))
    return tracker.finish()


def faces_by_frame(tracks: list[Track]) -> dict[int, list[tuple[int, np.ndarray]]]:
    """``{frame index: [(track id, box), ...]}`` for every frame with a face."""
    table: dict[int, list[tuple[int, np.ndarray]]] = {}
    for track in tracks:
        for frame, box in zip(track.frames, track.boxes):
            table.setdefault(frame, []).append((track.id, box))
    return table


def iter_tracked_frames(
    path: str | os.PathLike, tracks: list[Track]
) -> Iterator[tuple[Frame, list[tuple[int, np.ndarray]]]]:
    """Stream the video's frames, each with its faces ``[(track id, box), ...]``."""
    table = faces_by_frame(tracks)
    with VideoReader(path) as reader:
        for frame in reader:
            yield frame, table.get(frame.index, [])
