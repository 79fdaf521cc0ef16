"""``vidsr prepare`` of talking-face videos: :func:`prepare_videos` (see :mod:`vidsr.data.prepare`)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from vidsr.data import HR_SIZE
from vidsr.data.driver import MIN_CROP_FRACTION, finish_set, pick, progress_reporter
from vidsr.data.shards import ShardWriter
from vidsr.data.sources import list_clips, read_labels
from vidsr.data.splits import assign_splits
from vidsr.data.summary import Tally
from vidsr.errors import VidsrError
from vidsr.faces import DETECT_EVERY

# A second face at least this fraction of the biggest one's size makes the speaker unclear.
RIVAL_FACE_FRACTION = 0.7


def prepare_videos(
    root: str | os.PathLike,
    out: str | os.PathLike,
    layout: str = "voxceleb2",
    hr_size: int = HR_SIZE,
    every: float = 1.0,
    seed: int = 0,
    limit: int | None = None,
    progress: Callable | None = None,
    labels: str | os.PathLike | None = None,
    device: str = "cpu",
) -> dict:
    """Make a prepared set from talking-face videos with their own sound.

    For each clip: its sound is read at 16 kHz; faces are detected and tracked
    (:func:`vidsr.faces.track_video`); one frame every `every` seconds (from every/2 on) is
    kept, its biggest face cut square (:func:`training_crop_box`, framed like the photo sets, :func:`crop_face`
    at `hr_size`) and paired with the 4 s of sound centred on the frame. Skipped, and
    counted by reason: clips without sound or unreadable, frames without a face, frames
    where a second face is nearly as big (whose voice is it?), and faces whose crop is
    smaller than MIN_CROP_FRACTION x hr_size. Gender/age come from `labels` (a CSV, see
    :func:`read_labels`), else -1. `limit` takes a seeded random subset of the clips.
    """
    from vidsr.audio import window_at
    from vidsr.errors import MediaError, NoAudioError
    from vidsr.faces import TinyFaceDetector, crop_face, iter_tracked_frames, track_video, training_crop_box
    from vidsr.media import load_audio, probe

    started = time.time()
    if every <= 0:
        raise VidsrError(f"every must be positive, got {every}")
    clips = pick(list_clips(root, layout), limit, seed)
    splits = assign_splits(clips)
    known = read_labels(labels)
    min_side = MIN_CROP_FRACTION * hr_size
    # Faces smaller than the crop threshold are not wanted, so the detector can shrink frames.
    detector = TinyFaceDetector(device=device, min_face=max(8, int(min_side / 1.2 / 2)))
    tally = Tally()
    source = Path(root).resolve().name
    tally.read[source] = len(clips)
    advance, stop = progress_reporter(progress, len(clips), "videos")
    writer = ShardWriter(out, hr_size=hr_size, source=str(Path(root).resolve()))
    try:
        for clip in clips:
            advance()
            try:
                info = probe(clip.path)
                wave = load_audio(clip.path)
                tracks = track_video(clip.path, detect_every=DETECT_EVERY, detector=detector)
            except NoAudioError:
                tally.skip("clip without sound", source=source)
                continue
            except MediaError:
                tally.skip("unreadable video", source=source)
                continue
            gender, age = known.get(clip.identity, (-1, -1))
            split, next_t, k = splits[clip.path], every / 2, 0
            for frame, faces in iter_tracked_frames(clip.path, tracks):
                if frame.time + 0.5 / max(info.fps, 1.0) < next_t:
                    continue
                while next_t <= frame.time + 0.5 / max(info.fps, 1.0):
                    next_t += every
                if not faces:
                    tally.skip("frame without a face", source=source)
                    continue
                sizes = sorted((max(b[2] - b[0], b[3] - b[1]), i) for i, (_, b) in enumerate(faces))
                if len(sizes) > 1 and sizes[-2][0] >= RIVAL_FACE_FRACTION * sizes[-1][0]:
                    tally.skip("frame with two faces of similar size", source=source)
                    continue
                box = training_crop_box(faces[sizes[-1][1]][1])
                if box[2] - box[0] < min_side:
                    tally.skip(f"face crop under {min_side:.0f} px", source=source)
                    continue
                hr = crop_face(frame.image, box, hr_size)
                writer.add(split, hr, window_at(wave, frame.time), identity=clip.identity,
                           gender=gender, age=age, video=clip.video, clip=k, source=source, speaker=clip.identity)
                tally.add(split, clip.identity, gender, age, source, "own", clip.identity)
                k += 1
    finally:
        stop()
    settings = {"kind": f"videos ({layout})", "source": str(Path(root).resolve()), "hr_size": hr_size, "every_s": every,
                "crop": "training_crop_box", "min_crop_px": round(min_side), "seed": seed, "limit": limit, "clips": len(clips),
                "labels": str(labels) if labels else None}
    return finish_set(writer, tally, f"prepared set {out}", started, settings)
