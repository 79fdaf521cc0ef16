"""Training inputs made as real tiny faces are made, not by a clean bicubic D.

The paper makes its low-res inputs by bicubic downsampling (D o x). A face in real footage
is different: it is 8-16 px wide in the frame, sampled by a camera or a scaler, blurred,
noisy, colour-shifted and compressed, and the detector's box around it moves from frame to
frame. :func:`degrade_face` makes a training input that way from a clean high-res face
(framed as the training faces are: the crop the pipeline takes around a detector box):

1. the face is given a width in a simulated frame: the detector box is drawn 8-16 px wide
   (:data:`FACE_PX`, the pipeline's default range of faces it replaces for an 8 px input),
   so the crop is 1.2x that (the set's crop scale);
2. the face, with some mirrored context around it (:data:`MARGIN`, a random amount on each
   side, so the face lands at a random sub-pixel and block position), is shrunk to that
   size by area averaging, bilinear or bicubic interpolation (as cameras and scalers do;
   the last two alias);
3. in that tiny frame: Gaussian blur (:data:`P_BLUR`), a colour cast with contrast and
   brightness changes (:data:`P_COLOUR`), greyscale as in archives (:data:`P_GREY`), sensor
   noise (:data:`P_NOISE`), and JPEG at a random quality (:data:`P_JPEG`; 8x8 blocks and 4:2:0
   chroma: the proxy for H.264's block compression);
4. the detector box is jittered as the detector jitters on tiny faces: its centre moves by
   :data:`SHIFT_SIGMA` and its width by :data:`SCALE_SIGMA` (log) box widths (measured by
   ``research/scripts/measure_framing.py``: the box found on LFW faces shrunk to 8-16 px against the
   full-size box; per axis std 0.05 of the box in x and in width, interquartile ranges of
   +-0.02-0.04 in y with a few outliers);
5. the input is cut out exactly as the pipeline cuts it from a video frame:
   :func:`vidsr.faces.crop.training_crop_box` around the box, then
   :func:`vidsr.faces.crop.crop_face` to the model's input size.

The target stays the clean high-res face. Everything is drawn from the ``numpy`` generator
passed in, so a batch depends only on its seed (the training stages seed it from the step:
a resumed run degrades exactly as an uninterrupted one). About 1 ms per 64 px face on one (shared) core.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from vidsr.faces.crop import TRAINING_CROP_SCALE, TRAINING_CROP_SHIFT, crop_face, own_crop_side, training_crop_box
from vidsr.imaging import resize

FACE_PX = (8.0, 16.0)  # detector-box width of the face in the simulated frame
MARGIN = (0.125, 0.25)  # context around the crop on each side, in crop sides
RESAMPLERS = ("area", "bilinear", "bicubic")  # the filters that shrink the simulated frame (imaging.resize)
SHIFT_SIGMA = 0.05  # box-centre jitter per axis, in box widths
SCALE_SIGMA = 0.05  # box-width jitter, log
P_BLUR, BLUR_SIGMA = 0.5, (0.3, 1.0)  # Gaussian sigma in frame pixels
P_COLOUR = 0.5  # per-channel gains (white balance), contrast, brightness, gamma
CHANNEL_SIGMA, CONTRAST_SIGMA, BRIGHTNESS_SIGMA, GAMMA_SIGMA = 0.08, 0.15, 0.06, 0.15
P_GREY = 0.1
P_NOISE, NOISE_SIGMA = 0.5, (2.0, 12.0)  # Gaussian, in 8-bit levels
P_COLOUR_NOISE = 0.5  # of noisy frames: independent per channel (else luminance only)
P_JPEG, JPEG_QUALITY = 0.7, (20, 85)


def _colour(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = frame.astype(np.float32) / 255.0
    x = x * np.exp(rng.normal(0.0, CHANNEL_SIGMA, 3)).astype(np.float32)
    mean = x.mean()
    x = (x - mean) * np.exp(rng.normal(0.0, CONTRAST_SIGMA)) + mean + rng.normal(0.0, BRIGHTNESS_SIGMA)
    x = np.clip(x, 0.0, 1.0) ** np.exp(rng.normal(0.0, GAMMA_SIGMA))
    return np.clip(x * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _grey(frame: np.ndarray) -> np.ndarray:
    return np.repeat(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)[:, :, None], 3, axis=2)


def _noise(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    sigma = rng.uniform(*NOISE_SIGMA)
    shape = frame.shape if rng.random() < P_COLOUR_NOISE else frame.shape[:2] + (1,)
    noisy = frame.astype(np.float32) + rng.normal(0.0, sigma, shape).astype(np.float32)
    return np.clip(noisy + 0.5, 0, 255).astype(np.uint8), sigma


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        return frame
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def degrade_face(hr: np.ndarray, size: int, rng: np.random.Generator,
                 crop_scale: float = TRAINING_CROP_SCALE, face_px: tuple[float, float] = FACE_PX,
                 own: bool = False) -> tuple[np.ndarray, dict]:
    """One clean face (uint8 [R, R, 3], framed as the training faces at `crop_scale` box
    widths) as a degraded `size` x `size` uint8 input, and what was done to it (a dict).
    ``face_px``: the range of the face's width in the frame. ``own``: the info also holds the
    same crop at the face's own size (``"own"``, :func:`vidsr.faces.crop.own_crop_side`), as the
    pipeline cuts the back-projection's target."""
    r = hr.shape[0]
    face_px = rng.uniform(*face_px)
    s = face_px * crop_scale / r  # frame pixels per high-res pixel
    left, top, right, bottom = (int(round(rng.uniform(*MARGIN) * r)) for _ in range(4))
    canvas = cv2.copyMakeBorder(np.ascontiguousarray(hr), top, bottom, left, right, cv2.BORDER_REFLECT_101)
    fw = max(1, round(canvas.shape[1] * s))
    fh = max(1, round(canvas.shape[0] * s))
    sx, sy = fw / canvas.shape[1], fh / canvas.shape[0]
    resample = list(RESAMPLERS)[int(rng.integers(len(RESAMPLERS)))]
    frame = resize(canvas, (fw, fh), resample)
    info = {"face_px": face_px, "resample": resample, "blur": 0.0, "colour": False, "grey": False,
            "noise": 0.0, "jpeg": 0}
    if rng.random() < P_BLUR:
        info["blur"] = rng.uniform(*BLUR_SIGMA)
        frame = cv2.GaussianBlur(frame, (0, 0), info["blur"], borderType=cv2.BORDER_REPLICATE)
    if rng.random() < P_COLOUR:
        frame, info["colour"] = _colour(frame, rng), True
    if rng.random() < P_GREY:
        frame, info["grey"] = _grey(frame), True
    if rng.random() < P_NOISE:
        frame, info["noise"] = _noise(frame, rng)
    if rng.random() < P_JPEG:
        info["jpeg"] = int(rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1))
        frame = _jpeg(frame, info["jpeg"])
    # The detector box whose crop is the face (inverse of training_crop_box), then jittered.
    side = r * (sx + sy) / 2
    width = side / crop_scale
    cx = (left + r / 2) * sx
    cy = (top + r / 2) * sy - TRAINING_CROP_SHIFT * TRAINING_CROP_SCALE * width
    dx, dy = rng.normal(0.0, SHIFT_SIGMA, 2)
    log_scale = rng.normal(0.0, SCALE_SIGMA)
    cx, cy, width = cx + dx * width, cy + dy * width, width * np.exp(log_scale)
    box = np.array([cx - width / 2, cy - width / 2, cx + width / 2, cy + width / 2], np.float32)
    info.update(shift=(float(dx), float(dy)), log_scale=float(log_scale))
    crop_box = training_crop_box(box, crop_scale)
    if own:
        info["own"] = crop_face(frame, crop_box, own_crop_side(width, crop_scale, size, r))
    return crop_face(frame, crop_box, size), info


def degrade_batch(x_h: torch.Tensor, size: int, rng: np.random.Generator,
                  crop_scale: float = TRAINING_CROP_SCALE) -> torch.Tensor:
    """Degraded `size` x `size` inputs [B, 3, size, size] in [-1, 1] of clean faces
    [B, 3, R, R] in [-1, 1], on the faces' device (:func:`degrade_face` on each)."""
    from vidsr.imaging import from_uint8, to_uint8

    faces = to_uint8(x_h)
    out = np.stack([degrade_face(f, size, rng, crop_scale)[0] for f in faces])
    return from_uint8(out).to(x_h.device)
