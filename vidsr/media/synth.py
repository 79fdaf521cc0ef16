"""Clips with a tiny face, made from a talking-face video, for tests, benchmarks and pictures.

:func:`shrunk_face_clip` shrinks a video (a GRID clip, say, whose face is about 105 px wide)
onto a plain grey 640x360 frame, so that its face is as small as the faces vidsr is for.
"""

from __future__ import annotations

import os

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
