"""Single pictures: the authors' demo strip (`vidsr image`) and the mixing of faces with
other people's voices (`vidsr mix`, Fig. 1b, Fig. 5)."""

from __future__ import annotations

import os

import numpy as np

from vidsr.pipeline.drawing import DEFAULT, Drawing
from vidsr.pipeline.model import model_device


def face_input(rgb: np.ndarray, model):
    """A face picture -> (its R x R high-res tile or None, x_l [1, 3, l, l] in [-1, 1]).

    A picture at least 2l px on its shorter side is a high-res face: its centre square is
    resized to R and reduced by D (bicubic, :meth:`FaceSR.downsample`) to l x l, as in the
    authors' demo. A smaller one is a tiny face: its centre square is the input itself.
    """
    high, x_l, _ = face_inputs(rgb, model)
    return high, x_l


def face_inputs(rgb: np.ndarray, model):
    """:func:`face_input` and the face's own pixels [1, 3, n, n]: a tiny face's centre square
    at its own size (l to 2l - 1 px), the back-projection's target with ``own_pixels``
    (:attr:`vidsr.pipeline.drawing.Drawing.own_pixels`); x_l itself for a high-res face (the demo
    simulates an l x l face)."""
    from vidsr.imaging import from_uint8, square_photo

    l, r = model.preset.lr_size, model.preset.resolution
    dev = model_device(model)
    side = min(rgb.shape[:2])
    if side >= 2 * l:
        high = np.array(square_photo(rgb, r))  # writable, for torch
        x_l = model.downsample(from_uint8(high)[None].to(dev))
        return high, x_l, x_l
    own = from_uint8(np.array(square_photo(rgb, max(side, l))))[None].to(dev)
    return None, from_uint8(np.array(square_photo(rgb, l)))[None].to(dev), own


def voice_code(path: str | os.PathLike, model):
    """z_a = E_a(a) [1, k, d] for the 4 s of voice in the middle of ``path`` (sound or video)."""
    from vidsr.audio import log_spectrogram, window_span
    from vidsr.media import SAMPLE_RATE, AudioStream

    with AudioStream(path) as stream:  # streamed: a long sound track is never held whole
        middle = stream.total() / SAMPLE_RATE / 2
        spec = log_spectrogram(stream.samples(*window_span(middle)))[None]
    return model.encode_audio(spec.to(model_device(model)))


def tile(image: np.ndarray | None, size: int) -> np.ndarray:
    """An RGB picture as a size x size tile (nearest when enlarging, for low-res inputs);
    white for None."""
    from vidsr.imaging import resize

    if image is None:
        return np.full((size, size, 3), 255, np.uint8)
    return resize(image, size, "nearest" if image.shape[0] < size else "area")


def enhance_face(rgb: np.ndarray, model, voice=None, drawing: Drawing = DEFAULT) -> tuple[np.ndarray, list[str]]:
    """One face picture through the model, as an RGB strip of R x R tiles and their names.

    High-res face: [high-res | low-res input (nearest) | E_l only | fused], the authors'
    demo (the fused tile only with a ``voice``, z_a from :func:`voice_code`). Tiny face:
    just the result, G(z_f) (or G(z_l) without a voice). The model's faces are drawn as
    ``vidsr enhance`` draws them (``drawing``: refinement, back-projection and detail; its
    smoothing and frames are a video's), onto a tiny face's own pixels with
    ``drawing.own_pixels`` (:func:`face_inputs`); ``Drawing(refine=0, back_project=0, detail=1)``:
    the paper's G(z) as it is.
    """
    import torch

    from vidsr.imaging import to_uint8

    r = model.preset.resolution
    with torch.inference_mode():
        high, x_l, own = face_inputs(rgb, model)
        z_l = model.encode_lowres(x_l)
        target = own if drawing.own_pixels else x_l

        def face(z):
            return to_uint8(model.draw(z, target, drawing.refine, drawing.back_project, drawing.detail))[0]

        alone = face(z_l)
        fused = face(model.fuse(z_l, voice)) if voice is not None else None
    if high is None:
        return (fused if fused is not None else alone), ["fused" if fused is not None else "E_l only"]
    tiles = [high, tile(to_uint8(x_l)[0], r), alone] + ([fused] if fused is not None else [])
    names = ["high-res", "low-res input", "E_l only"] + (["fused"] if fused is not None else [])
    return np.concatenate(tiles, axis=1), names


def mix_faces(faces: list[np.ndarray], voices: list, model, voice_faces: list[np.ndarray] | None = None,
              pad: int = 2) -> np.ndarray:
    """The paper's Fig. 5: one row per face, one column per voice.

    Row i: [face i | its low-res input (nearest) | G(E_l(x_l,i) + F(E_l(x_l,i), z_a,j)) for
    each voice code z_a,j (:func:`voice_code`)]. ``voice_faces``: the voices' own faces,
    drawn as a first row above their columns. Tiles are R x R with ``pad`` px of white.
    The faces are the paper's G(z_f), not back-projected: the figure shows what the voice
    changes, all of it.
    """
    import torch

    from vidsr.imaging import center_square, from_uint8, grid, to_uint8

    r = model.preset.resolution
    rows = []
    if voice_faces:
        rows.append([tile(None, r), tile(None, r)] + [tile(center_square(v), r) for v in voice_faces])
    with torch.inference_mode():
        for rgb in faces:
            high, x_l = face_input(rgb, model)
            low = tile(to_uint8(x_l)[0], r)
            z_l = model.encode_lowres(x_l)
            z_f = torch.cat([model.fuse(z_l, z_a) for z_a in voices]) if voices else z_l[:0]
            mixed = list(to_uint8(model.generate(z_f))) if voices else []
            rows.append([high if high is not None else low, low] + mixed)
    tiles = np.stack([t for row in rows for t in row])
    return grid(from_uint8(tiles), nrow=len(rows[0]), pad=pad)
