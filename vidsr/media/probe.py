"""What a video file holds, read from ``ffmpeg -i`` (no ffprobe needed).

``ffmpeg -hide_banner -i FILE`` with no output prints the container and stream
description on stderr and exits with an error; that description is all we need::

    Duration: 00:00:02.98, start: 0.000000, bitrate: 1215 kb/s
    Stream #0:0[0x1e0]: Video: mpeg1video, yuv420p(tv, progressive), 360x288 [SAR 1:1 DAR 5:4], ..., 25 fps, 50 tbr, 90k tbn
    Stream #0:1[0x1c0]: Audio: mp2, 44100 Hz, stereo, s16p, 224 kb/s
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass

from vidsr.errors import MediaError
from vidsr.media.ffmpeg import error_reason, ffmpeg_exe, file_arg

_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #\d+:\d+.*?: (Video|Audio): (.*)$")
_SIZE = re.compile(r"(?<![\w.])([1-9]\d*)x([1-9]\d*)(?![\w.])")
_RATE = r"(\d+(?:\.\d+)?)(k?) "
_FPS = re.compile(_RATE + "fps")
_TBR = re.compile(_RATE + "tbr")
_HZ = re.compile(r"(\d+) Hz")
_ROTATION = re.compile(r"display ?matrix: rotation of (-?\d+(?:\.\d+)?) degrees", re.IGNORECASE)


@dataclass
class VideoInfo:
    """A video file's main facts.

    ``width`` x ``height`` is the displayed size (swapped for files rotated by 90
    degrees, which ffmpeg turns upright when decoding). ``num_frames`` is an estimate,
    ``round(duration * fps)``: containers rarely store a frame count, and variable frame
    rate videos have no single fps; read the frames to know for sure.
    """

    path: str
    width: int
    height: int
    fps: float
    duration: float
    num_frames: int
    has_audio: bool
    audio_rate: int | None
    video_codec: str


def _rate(match: re.Match | None) -> float:
    if match is None:
        return 0.0
    return float(match.group(1)) * (1000 if match.group(2) else 1)


def parse_ffmpeg_info(text: str, path: str) -> VideoInfo:
    """Build a VideoInfo from the stderr of ``ffmpeg -i PATH``; MediaError if no video."""
    duration = 0.0
    if m := _DURATION.search(text):
        duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))

    video: dict | None = None
    audio_rate: int | None = None
    has_audio = False
    lines = text.splitlines()
    for i, line in enumerate(lines):
        m = _STREAM.match(line)
        if not m:
            continue
        kind, desc = m.groups()
        if kind == "Audio":
            if not has_audio:
                has_audio = True
                hz = _HZ.search(desc)
                audio_rate = int(hz.group(1)) if hz else None
        elif video is None and "(attached pic)" not in desc:
            size = _SIZE.search(desc)
            if size is None:
                continue
            # The stream's indented side data (rotation) follows until the next stream.
            rotation = 0.0
            for extra in lines[i + 1 :]:
                if _STREAM.match(extra) or not extra.startswith("    "):
                    break
                if r := _ROTATION.search(extra):
                    rotation = float(r.group(1))
            width, height = int(size.group(1)), int(size.group(2))
            if round(abs(rotation)) % 180 == 90:
                width, height = height, width
            fps = _rate(_FPS.search(desc)) or _rate(_TBR.search(desc))
            video = dict(
                width=width,
                height=height,
                fps=fps,
                video_codec=desc.split(",")[0].split()[0],
            )

    if video is None:
        raise MediaError(f"no video stream in '{path}'")
    num_frames = int(duration * video["fps"] + 0.5)
    return VideoInfo(
        path=path,
        duration=duration,
        num_frames=num_frames,
        has_audio=has_audio,
        audio_rate=audio_rate,
        **video,
    )


def check_readable(path: str | os.PathLike) -> str:
    """``path`` as a string; MediaError if it is missing or a folder."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise MediaError(f"no such file: '{path}'")
    if os.path.isdir(path):
        raise MediaError(f"'{path}' is a folder, not a video file")
    return path


def read_info_text(path: str | os.PathLike) -> str:
    """The stream description ``ffmpeg -i PATH`` prints; MediaError if unreadable."""
    path = check_readable(path)
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", file_arg(path)]
    try:
        proc = subprocess.run(cmd, capture_output=True)
    except OSError as e:
        raise MediaError(f"cannot run ffmpeg '{cmd[0]}': {e.strerror or e}") from None
    text = proc.stderr.decode("utf-8", errors="replace")
    if "Input #0" not in text:
        raise MediaError(f"cannot read video '{path}': {error_reason(text)}")
    return text


def audio_codec(text: str) -> str | None:
    """The codec of the first audio stream in ``ffmpeg -i`` output, or None."""
    for line in text.splitlines():
        m = _STREAM.match(line)
        if m and m.group(1) == "Audio":
            return m.group(2).split(",")[0].split()[0]
    return None


def probe(path: str | os.PathLike) -> VideoInfo:
    """Describe the video at ``path``.

    Raises MediaError for a missing file, a file ffmpeg cannot read, or a file with no
    video stream.
    """
    path = check_readable(path)
    return parse_ffmpeg_info(read_info_text(path), path)
