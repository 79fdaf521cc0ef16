"""``<stem>.report.json``: what one video's run did, as :func:`vidsr.pipeline.enhance_video`
returns it."""

from __future__ import annotations

import os

import numpy as np

from vidsr.pipeline.timing import Clock, timings
from vidsr.pipeline.tracks import frames_covered


def frame_counts(selection, frames: int) -> dict:
    """Frames (pass 2 saw every frame; ``frames``: those it wrote, or pass 1's count when
    nothing was enhanced) and faces: the tracks say where the faces were."""
    tracks, chosen = selection.tracks, selection.chosen
    return {
        "frames": frames,
        "frames_enhanced": frames_covered(chosen.values()),
        "frames_without_faces": max(0, frames - frames_covered(tracks)),
        "faces_enhanced": sum(len(t.frames) for t in chosen.values()),
        "faces_outside_range": sum(len(t.frames) for t in tracks if t.id not in chosen),
    }


def track_rows(selection, *, voice_frames: dict, stretches, track_videos: dict, flicker: dict) -> list[dict]:
    """One row per track found: its frames, size and median box; for an enhanced one its
    voice frames, speech stretches, video (``track_videos``: id -> name) and flicker; for
    the others why they were left alone."""
    rows = []
    for t in selection.tracks:
        row = {"id": t.id, "first_frame": t.first, "last_frame": t.last, "frames": len(t.frames),
               "size_px": round(selection.sizes[t.id], 1), "enhanced": t.id in selection.chosen,
               "box": [round(float(v), 1) for v in np.median(np.asarray(t.boxes, np.float64).reshape(-1, 4), 0)]}
        if t.id in selection.chosen:
            row["voice_frames"] = voice_frames.get(t.id, 0)
            if stretches is not None:
                row["speech"] = [[s.start, s.end] for s in stretches if s.track == t.id]
            if t.id in track_videos:
                row["video"] = track_videos[t.id]
            row["flicker"] = flicker[t.id].as_dict()
        else:
            row["skipped"] = selection.skipped_because(t.id)
        rows.append(row)
    return rows


def mean_flicker(flicker: dict) -> dict:
    """The flicker of all tracks together, raw and smoothed."""
    def mean(key: str, count: str) -> float | None:
        pairs = sum(getattr(f, count) for f in flicker.values())
        return round(sum(getattr(f, key) for f in flicker.values()) / pairs, 3) if pairs else None

    return {"raw": mean("total_raw", "raw_pairs"), "smoothed": mean("total", "pairs"),
            "pairs": sum(f.pairs for f in flicker.values()), "raw_pairs": sum(f.raw_pairs for f in flicker.values()),
            "unit": "mean |change| between consecutive faces of a track, 0-255"}


def run_settings(*, mode: str, voice_source: str | None, voice_to, scale: float, size: tuple[int, int], inset: bool,
                 compare: bool, selection, drawing, radius: int, detect_every: int, device, half: bool, batch: int,
                 crop_scale: float) -> dict:
    """The report's "settings": the options as the run used them; ``drawing`` (how the faces
    were drawn, :class:`vidsr.pipeline.drawing.Drawing`) whole, with the smoothing's window in
    frames (``smooth_frames``) beside it."""
    lo, hi = selection.lo, selection.hi
    return {"mode": mode, "voice": voice_source, "voice_to": voice_to if voice_source == "own" else None,
            "scale": scale,
            "output_size": [size[0] // 2 * 2, size[1] // 2 * 2],  # H.264 (yuv420p) needs even sizes
            "inset": inset, "compare": compare, "face_range": [lo, hi if hi < float("inf") else None],
            "drawing": drawing.as_dict(), "smooth_frames": 2 * radius + 1,
            "detect_every": detect_every, "device": str(device),
            "half": half, "batch": batch, "crop": "training_crop_box", "crop_scale": crop_scale}


def video_report(*, path: str, info, model, selection, outputs: dict, track_videos: dict, settings: dict, voice,
                 voice_frames: dict, stretches, speech, flicker: dict, frames: int, frames_read: int, clock: Clock,
                 seconds: float, warnings: list[str]) -> dict:
    """The report of one video (docs/enhancing.md says what it holds). ``outputs``: the overlay's
    name, if written; ``track_videos``: track id -> the name of its video; ``frames``: the
    frames pass 2 wrote (``frames_read``: those pass 1 read); ``seconds``: the run's."""
    source = getattr(model, "source", None)
    outputs = {**outputs, **{f"track-{tid}": name for tid, name in track_videos.items()}}
    rows = track_rows(selection, voice_frames=voice_frames, stretches=stretches, track_videos=track_videos,
                      flicker=flicker)
    counts = frame_counts(selection, frames if selection.chosen else frames_read)
    return {
        "video": path,
        "status": "ok" if selection.chosen else "no faces",
        "outputs": outputs,
        # "lowres": the input side l (Preset.lr_size), under the key every report has had
        "model": {"preset": model.preset.name, "lowres": model.preset.lr_size, "resolution": model.preset.resolution,
                  "weights": os.fspath(source) if source else None},
        "settings": settings,
        "input": {"width": info.width, "height": info.height, "fps": info.fps, "duration": info.duration,
                  "has_audio": info.has_audio, "frames_expected": info.num_frames, "frames_read": frames_read},
        **counts,
        "tracks_found": len(selection.tracks),
        "tracks_enhanced": len(selection.chosen),
        "voice": {"codes": voice.codes_made if voice is not None else 0,
                  "speech_s": round(speech.seconds, 3) if speech is not None else None,
                  "stretches": [s.as_dict() for s in stretches] if stretches is not None else None},
        "flicker": mean_flicker(flicker),
        "timings_s": timings(clock, seconds),
        "warnings": warnings,
        "tracks": rows,
    }
