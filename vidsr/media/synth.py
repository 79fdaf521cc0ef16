"""Clips with a tiny face, made from a talking-face video, for tests, benchmarks and pictures.

:func:`shrunk_face_clip` shrinks a video (a GRID clip, say, whose face is about 105 px wide)
onto a plain grey 640x360 frame, so that its face is as small as the faces vidsr is for.
:func:`place_image` does the same for one picture in Python, at any sub-pixel position and
scale (so a still photo can drift and zoom slightly from frame to frame, and the caller
knows exactly where every source pixel went); :func:`drift` is such a motion.
"""

from __future__ import annotations

import math
import os

import numpy as np

from vidsr.media.ffmpeg import run_ffmpeg

H264 = ("-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p")


def shrunk_face_clip(
    source: str | os.PathLike,
    path: str | os.PathLike,
    *,
    size: tuple[int, int] = (43, 35),
    at: tuple[int, int] = (300, 160),
    seconds: float | None = None,
    audio: bool = True,
    encoder: tuple[str, ...] = H264,
) -> None:
    """Write to ``path`` the video ``source`` scaled to ``size`` (w, h) and laid with its top
    left corner at ``at`` on a grey 640x360, 25 fps frame (GRID's 360x288 at 43x35: a face
    about 12 px wide). ``seconds``: ``source`` looped to that length, its frames renumbered so
    the joins leave no timestamp gaps; otherwise as long as ``source``. ``audio``: with the
    source's sound (AAC), else silent."""
    (w, h), (x, y) = size, at
    loop = ["-stream_loop", "-1"] if seconds else []
    renumber = "setpts=N/(25*TB)," if seconds else ""
    length = ["-t", f"{seconds:.3f}", "-r", "25"] if seconds else []
    sound = ["-map", "0:a", "-c:a", "aac"] if audio else ["-an"]
    run_ffmpeg([
        *loop, "-i", os.fspath(source), "-f", "lavfi", "-i", "color=c=gray:size=640x360:rate=25",
        "-filter_complex", f"[0:v]{renumber}scale={w}:{h}:flags=area[s];[1:v][s]overlay={x}:{y}:shortest=1[v]",
        "-map", "[v]", *sound, *length, *encoder, "-y", os.fspath(path),
    ])  # fmt: skip


BACKGROUND = 128  # the grey of shrunk_face_clip's frame


def place_image(image: np.ndarray, frame_size: tuple[int, int], scale: float, offset: tuple[float, float],
                background: int = BACKGROUND) -> np.ndarray:
    """A (w, h) = ``frame_size`` grey frame with ``image`` (HxWx3 uint8) scaled by ``scale``
    and laid so that its pixel (u, v) lands at ``offset + scale * (u, v)`` (sub-pixel).

    Shrinking averages each output pixel's whole footprint (Pillow's box filter, as
    ffmpeg's ``flags=area`` in :func:`shrunk_face_clip`); the picture's edges blend into
    the grey. Parts outside the frame are cut off."""
    from PIL import Image

    width, height = frame_size
    frame = np.full((height, width, 3), background, np.uint8)
    h, w = image.shape[:2]
    ox, oy = offset
    x0, y0 = max(0, math.floor(ox)), max(0, math.floor(oy))
    x1, y1 = min(width, math.ceil(ox + w * scale)), min(height, math.ceil(oy + h * scale))
    if x1 <= x0 or y1 <= y0:
        return frame
    pad = math.ceil(1 / scale) + 2  # grey around the picture: the output window may reach past it
    padded = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), constant_values=background)
    box = ((x0 - ox) / scale + pad, (y0 - oy) / scale + pad, (x1 - ox) / scale + pad, (y1 - oy) / scale + pad)
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BICUBIC
    frame[y0:y1, x0:x1] = np.asarray(Image.fromarray(padded).resize((x1 - x0, y1 - y0), resample, box=box))
    return frame


def drift(t: float, seconds: float, phase: float = 0.0, zoom: float = 0.04, shift: float = 0.25) -> tuple[float, float, float]:
    """A slow, smooth motion for a still picture at time ``t`` of a ``seconds`` clip: (zoom
    factor, dx, dy), the zoom within 1 +- ``zoom`` and the shift within +- ``shift`` face
    widths (multiply dx, dy by the face's width in the frame); ``phase`` (radians) varies
    it between clips."""
    a = 2 * math.pi * t / max(seconds, 1e-6)
    return 1 + zoom * math.sin(a + phase), shift * math.sin(0.7 * a + 2 * phase), 0.5 * shift * math.sin(1.3 * a + phase)


def side_by_side_clip(
    sources: list[str | os.PathLike],
    path: str | os.PathLike,
    *,
    sound_of: int | None = 0,
    size: tuple[int, int] = (43, 35),
    y: int = 160,
    gap: int = 200,
    encoder: tuple[str, ...] = H264,
) -> None:
    """Write to ``path`` the videos ``sources`` shrunk to ``size`` (w, h) side by side on a
    grey 640x360, 25 fps frame, ``gap`` px apart (left edges), centred, tops at ``y``: with
    GRID clips, two faces about 12 px wide. The sound is that of ``sources[sound_of]`` only
    (AAC; None: silent). As long as the shortest source."""
    w, h = size
    x0 = (640 - w - gap * (len(sources) - 1)) // 2
    inputs: list[str] = []
    for s in sources:
        inputs += ["-i", os.fspath(s)]
    grey = len(sources)
    chain = [f"[{i}:v]scale={w}:{h}:flags=area[s{i}]" for i in range(len(sources))]
    below = f"[{grey}:v]"
    for i in range(len(sources)):
        out = "[v]" if i == len(sources) - 1 else f"[o{i}]"
        chain.append(f"{below}[s{i}]overlay={x0 + i * gap}:{y}:shortest=1{out}")
        below = out
    sound = ["-map", f"{sound_of}:a", "-c:a", "aac"] if sound_of is not None else ["-an"]
    run_ffmpeg([
        *inputs, "-f", "lavfi", "-i", "color=c=gray:size=640x360:rate=25",
        "-filter_complex", ";".join(chain), "-map", "[v]", *sound, *encoder, "-shortest", "-y", os.fspath(path),
    ])  # fmt: skip
