"""Which faces a run replaces and how much the frames are enlarged: the choices made
between the two passes, from the tracks of pass 1."""

from __future__ import annotations

from dataclasses import dataclass

from vidsr.pipeline.options import default_face_range, default_scale
from vidsr.pipeline.tracks import track_size


@dataclass
class Selection:
    """The tracks of pass 1 and those of them that are replaced."""

    tracks: list  # every track found (:class:`vidsr.faces.Track`)
    sizes: dict  # track id -> face size (px, :func:`track_size`)
    chosen: dict  # track id -> track, for the tracks within [lo, hi]
    lo: float
    hi: float

    def skipped_because(self, track_id: int) -> str:
        """Why a track that is not chosen is left alone."""
        return f"smaller than {self.lo:g} px" if self.sizes[track_id] < self.lo else f"larger than {self.hi:g} px"


def select_tracks(tracks: list, face_range: tuple[float, float] | None, lr_size: int, path: str, warning) -> Selection:
    """The tracks whose face size (the median box width) is within ``face_range`` (default
    :func:`default_face_range` of the model's input size ``lr_size``): a whole track is
    replaced or left alone. ``warning(message)`` when there is nothing to replace."""
    lo, hi = face_range if face_range is not None else default_face_range(lr_size)
    sizes = {t.id: track_size(t) for t in tracks}
    chosen = {t.id: t for t in tracks if lo <= sizes[t.id] <= hi}
    if not tracks:
        warning(f"no faces found in '{path}'")
    elif not chosen:
        warning(f"none of the {len(tracks)} face track(s) in '{path}' is {lo:g}-{hi:g} px "
                f"(sizes {', '.join(f'{s:.0f}' for s in sizes.values())}); nothing to enhance (see --face-range)")
    return Selection(tracks, sizes, chosen, lo, hi)


def frame_size(info, scale: float | None, resolution: int, chosen: dict, crop_scale: float) -> tuple[float, tuple[int, int]]:
    """(scale, (width, height)) of the overlay's frames: ``scale`` or, by default,
    :func:`default_scale` for the crops of the ``chosen`` tracks (``crop_scale`` box widths)."""
    if scale is None:
        sides = [(b[2] - b[0]) * crop_scale for t in chosen.values() for b in t.boxes]
        scale = default_scale(info.width, info.height, resolution, sides)
    return scale, (max(2, round(info.width * scale)), max(2, round(info.height * scale)))
