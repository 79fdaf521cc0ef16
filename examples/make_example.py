"""Make ``examples/astronaut.mp4``: a tiny talking face to try ``vidsr`` on.

A 6.0 s, 640x360, 25 fps H.264 clip with AAC sound. The picture is scikit-image's
"astronaut" photograph (Eileen Collins, NASA; public domain as a work of the US federal
government), cropped to her face and shoulders and shrunk so that her face is about
12 px wide (11 -> 13 px during a slow zoom), drifting slowly across a plain studio-grey
backdrop. The sound is a made female voice (espeak-ng, voice ``en-us+f2``, median F0
about 200 Hz) reading three short sentences.

Needs, for this script only: ``pip install scikit-image`` (for the photo) and the system
program ``espeak-ng`` (``apt-get install espeak-ng``). Run from the repository root::

    python examples/make_example.py            # writes examples/astronaut.mp4

The output is deterministic apart from the encoder's version.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
from scipy.signal import resample_poly

from vidsr.data.voices import VoiceSpec, speak
from vidsr.media import VideoWriter, probe, save_wav

WIDTH, HEIGHT, FPS, SECONDS = 640, 360, 25, 6.0
SR = 16000
# The photo (512x512): the face spans about x 178-272 (95 px cheek to cheek).
CROP = (105, 0, 345, 330)  # x0, y0, x1, y1: face, hair and shoulders
FACE_PX_IN_PHOTO = 95.0
FACE_PX = (11.0, 13.0)  # face width in the video, start -> end (slow zoom)
PATH = ((250.0, 150.0), (390.0, 170.0))  # where the crop's centre goes, start -> end (slow pan)
SUPERSAMPLE = 4
VOICE = VoiceSpec("en-us+f2", pitch=50, speed=165)
TEXT = "Hello from the shuttle. Can you see my face? The view from up here is wonderful."


def load_photo() -> np.ndarray:
    try:
        from skimage.data import astronaut
    except ImportError:
        sys.exit("make_example.py needs scikit-image for the photo: pip install scikit-image")
    return astronaut()  # 512x512x3 uint8 RGB


def person_and_mask(photo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face+shoulders crop, a soft elliptical alpha mask for it, and the backdrop colour."""
    x0, y0, x1, y1 = CROP
    crop = photo[y0:y1, x0:x1].astype(np.float32)
    h, w = crop.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # An ellipse around head and shoulders, open at the bottom; all edges feathered.
    r = np.sqrt(((xx - w / 2) / (w * 0.5)) ** 2 + (np.minimum(yy - h * 0.62, 0) / (h * 0.62)) ** 2)
    alpha = np.clip((1.0 - r) / 0.12, 0, 1) * np.clip((h - 1 - yy) / (0.12 * h), 0, 1)
    border = np.concatenate([crop[:, :8].reshape(-1, 3), crop[:, -8:].reshape(-1, 3), crop[:8].reshape(-1, 3)])
    return crop, alpha, np.median(border, axis=0)


def backdrop(colour: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plain studio backdrop: the photo's grey with a soft gradient and mottling."""
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    shade = 1.0 + 0.10 * (1 - ((xx - WIDTH * 0.45) / WIDTH) ** 2 - ((yy - HEIGHT * 0.4) / HEIGHT) ** 2) - 0.05
    mottle = cv2.GaussianBlur(rng.standard_normal((HEIGHT, WIDTH)).astype(np.float32), (0, 0), 25)
    mottle *= 0.025 / (mottle.std() + 1e-6)
    return colour[None, None, :] * (shade + mottle)[..., None]


def render(crop: np.ndarray, alpha: np.ndarray, back: np.ndarray, t: float) -> np.ndarray:
    """One frame at time t (0..1 of the clip): the person composited at subpixel precision."""
    face_px = FACE_PX[0] + (FACE_PX[1] - FACE_PX[0]) * t
    cx = PATH[0][0] + (PATH[1][0] - PATH[0][0]) * t
    cy = PATH[0][1] + (PATH[1][1] - PATH[0][1]) * t
    s = SUPERSAMPLE
    scale = face_px / FACE_PX_IN_PHOTO * s
    h, w = crop.shape[:2]
    # Work in a supersampled patch around the person, then area-average it down.
    pw, ph = int(np.ceil(w * scale / s)) + 4, int(np.ceil(h * scale / s)) + 4
    px0, py0 = int(np.floor(cx - pw / 2)), int(np.floor(cy - ph / 2))
    m = np.float32([[scale, 0, (cx - px0) * s - w * scale / 2], [0, scale, (cy - py0) * s - h * scale / 2]])
    size = (pw * s, ph * s)
    # Pre-shrink with area averaging so the bilinear warp does not alias.
    pre = scale
    small = cv2.resize(crop, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
    small_a = cv2.resize(alpha, None, fx=pre, fy=pre, interpolation=cv2.INTER_AREA)
    m2 = m.copy()
    m2[:, :2] /= pre
    person = cv2.warpAffine(small, m2, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    a = cv2.warpAffine(small_a, m2, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    person = cv2.resize(person * a[..., None], (pw, ph), interpolation=cv2.INTER_AREA)
    a = cv2.resize(a, (pw, ph), interpolation=cv2.INTER_AREA)[..., None]
    frame = back.copy()
    region = frame[py0:py0 + ph, px0:px0 + pw]
    region[:] = person + region * (1 - a)
    return np.clip(frame + 0.5, 0, 255).astype(np.uint8)


def soundtrack(path: Path) -> None:
    """The voice, 16 kHz mono, 0.3 s of silence first, cut/padded to the clip's length."""
    pcm, rate = speak(VOICE, TEXT)
    wave = resample_poly(pcm.astype(np.float32) / 32768.0, SR, rate).astype(np.float32)
    wave *= 0.1 / max(float(np.sqrt(np.mean(wave**2))), 1e-6)
    out = np.zeros(int(SECONDS * SR), np.float32)
    lead = int(0.3 * SR)
    n = min(len(wave), len(out) - lead)
    out[lead:lead + n] = wave[:n]
    if len(wave) > n:
        print(f"note: speech is {len(wave) / SR:.1f} s and was cut to fit {SECONDS} s", file=sys.stderr)
    save_wav(path, np.clip(out, -1, 1), SR)


def main(out: Path = Path(__file__).resolve().parent / "astronaut.mp4") -> None:
    rng = np.random.default_rng(0)
    crop, alpha, colour = person_and_mask(load_photo())
    back = backdrop(colour, rng)
    frames = int(round(SECONDS * FPS))
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "voice.wav"
        soundtrack(wav)
        with VideoWriter(out, WIDTH, HEIGHT, FPS, audio_from=wav, crf=26) as writer:
            for i in range(frames):
                writer.write(render(crop, alpha, back, i / (frames - 1)))
    info = probe(out)
    print(f"wrote {out}: {info.width}x{info.height}, {info.fps:g} fps, {info.duration:.2f} s, "
          f"audio {'yes' if info.has_audio else 'NO'}, {out.stat().st_size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
