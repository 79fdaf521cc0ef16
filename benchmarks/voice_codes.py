"""Voice codes (4 s windows through E_a) per second of video, per track, before and after
pooling: `vidsr enhance --voice-to all` (every frame hears the window around it, one code
per AUDIO_HOP of video) against `--voice-to auto` (each stretch of speech encoded once and
given to the face that speaks it).

Clips, made from the GRID clips in ../shared/data/grid in a temporary folder:
- two-faces-X: bbaf2n (left) and lbbc2a (right) at about 12 px, with the sound of X only;
- silence: bbaf2n's face for 9 s, its 3 s of speech then 6 s of silence.

    taskset -c 0 env OMP_NUM_THREADS=1 python benchmarks/voice_codes.py [--weights FILE] [-o out.json]

Prints (and writes) JSON: per clip and setting the seconds of video, voice codes, codes per
second, speech seconds, and per track its box, frames, voice_frames and speech stretches.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VIDSR_SHARED") or ROOT.parent / "shared")
GRID = SHARED / "data" / "grid"
MALE, FEMALE = GRID / "bbaf2n.mpg", GRID / "lbbc2a.mpg"


def make_clips(folder: Path) -> dict[str, Path]:
    from vidsr.media import SAMPLE_RATE, load_audio, run_ffmpeg, save_wav
    from vidsr.media.synth import shrunk_face_clip, side_by_side_clip

    clips = {"two-faces-bbaf2n": folder / "two_male.mp4", "two-faces-lbbc2a": folder / "two_female.mp4",
             "silence": folder / "silence.mp4"}
    side_by_side_clip([MALE, FEMALE], clips["two-faces-bbaf2n"], sound_of=0)
    side_by_side_clip([MALE, FEMALE], clips["two-faces-lbbc2a"], sound_of=1)
    picture = folder / "picture.mp4"
    shrunk_face_clip(MALE, picture, seconds=9.0, audio=False)
    save_wav(folder / "sound.wav", np.concatenate([load_audio(MALE), np.zeros(6 * SAMPLE_RATE, np.float32)]))
    run_ffmpeg(["-i", str(picture), "-i", str(folder / "sound.wav"), "-map", "0:v", "-map", "1:a",
                "-c:v", "copy", "-c:a", "aac", "-y", str(clips["silence"])])
    return clips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="model weights (default: the shipped model)")
    parser.add_argument("-o", "--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    from vidsr.pipeline import enhance_video

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, clip in make_clips(folder).items():
            for voice_to in ("all", "auto"):
                r = enhance_video(clip, folder / f"{name}-{voice_to}", weights=args.weights, mode="tracks",
                                  voice_to=voice_to, device="cpu", warn=lambda m: None)
                seconds = r["frames"] / r["input"]["fps"]
                results[f"{name} --voice-to {voice_to}"] = {
                    "video_s": round(seconds, 2),
                    "voice_codes": r["voice"]["codes"],
                    "voice_codes_per_s": round(r["voice"]["codes"] / seconds, 3),
                    "speech_s": r["voice"]["speech_s"],
                    "stretches": r["voice"]["stretches"],
                    "tracks": [{k: t.get(k) for k in ("id", "box", "frames", "voice_frames", "speech")}
                               for t in r["tracks"] if t["enhanced"]],
                }
    text = json.dumps(results, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
