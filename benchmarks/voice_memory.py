"""Memory of the voice path of `vidsr enhance` on a 1-minute and a 20-minute sound track.

Loops a GRID clip's sound into a 1-minute and a 20-minute file, then, in a fresh Python
process per file, walks a 25 fps video's frame times through the streamed 4 s windows
(:class:`vidsr.audio.StreamWindows` over :class:`vidsr.media.AudioStream`, what
``enhance_video`` uses) and, for comparison, through :class:`vidsr.audio.AudioWindows` over
the whole track loaded by :func:`vidsr.media.load_audio`. Prints JSON: peak numpy/torch
memory traced by ``tracemalloc`` and the peak RSS of the process, per file and reader.

    taskset -c 1 env OMP_NUM_THREADS=1 python benchmarks/voice_memory.py

The streamed peak should not grow with the track's length; the whole-track one does.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIDSR_SHARED") or ROOT.parent / "shared")
CLIP = SHARED / "data" / "grid" / "bbaf2n.mpg"
FPS, BATCH = 25, 64  # enhance_video asks for the codes of a batch of frames at a time


def make_looped(path: Path, seconds: int) -> None:
    from vidsr.media import run_ffmpeg

    run_ffmpeg(["-stream_loop", "-1", "-i", str(CLIP), "-t", str(seconds), "-vn", "-ac", "1", "-ar", "16000",
                "-y", str(path)])


def measure(path: str, reader: str) -> dict:
    """Runs in its own process: peak traced memory walking every frame time of the track."""
    import time
    import tracemalloc

    from vidsr.audio import AudioWindows, StreamWindows
    from vidsr.media import SAMPLE_RATE, AudioStream, audio_length, load_audio

    seconds = audio_length(path) / SAMPLE_RATE
    tracemalloc.start()
    t0 = time.perf_counter()
    windows = StreamWindows(AudioStream(path)) if reader == "stream" else AudioWindows(load_audio(path))
    frames = int(seconds * FPS)
    for i in range(0, frames, BATCH):  # frame times made batch by batch, as the video is read
        windows.spectrograms([j / FPS for j in range(i, min(i + BATCH, frames))])
    if reader == "stream":
        windows.close()
    _, peak = tracemalloc.get_traced_memory()
    return {"reader": reader, "seconds": round(seconds, 1), "frames": frames,
            "spectrograms": windows.positions_computed, "peak_traced_mb": round(peak / 2**20, 1),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "wall_s": round(time.perf_counter() - t0, 1)}


def main() -> None:
    if len(sys.argv) == 3:  # the child process
        print(json.dumps(measure(sys.argv[1], sys.argv[2])))
        return
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in (1, 20):
            path = Path(tmp) / f"voice-{minutes}min.wav"
            make_looped(path, minutes * 60)
            for reader in ("stream", "whole"):
                out = subprocess.run([sys.executable, __file__, str(path), reader], check=True,
                                     capture_output=True, text=True).stdout
                results.append({"minutes": minutes, **json.loads(out.strip().splitlines()[-1])})
    print(json.dumps({"benchmark": "voice_memory", "results": results}, indent=1))


if __name__ == "__main__":
    main()
