"""The inference pipeline of Fig. 1 over whole videos: what `vidsr enhance` runs.

As in openai/whisper's ``transcribe``, the pipeline is one function,
:func:`enhance_video`, and the CLI (:mod:`vidsr.cli.enhance`) is a thin wrapper around
:func:`enhance_many`, which runs it over many files. For every tracked face in every frame:

    x_l = D(face crop)                        the l x l (8 x 8) low-res input
    z_l = E_l(x_l);  z_a = E_a(a_t)           a_t: the 4 s of voice centred on the frame
    z_f = z_l + F(z_l, z_a)                   (z_f = z_l without a voice: "E_l only")
    z~_f = sum_j w_j z_f(t + j) / sum_j w_j   smoothed along the track, |j| <= r
    face = G(z~_f)                            R x R, drawn as a Drawing says (drawing.py), pasted back

:func:`enhance_video` does one video in two streaming passes (1: detect and track the
faces, :func:`vidsr.faces.track_video`; 2: decode again, crop, run the model in batches,
paste back and encode), so memory does not grow with the video's length: only a bounded
window of frames waits for its faces' batch and smoothing look-ahead, and the voice is
streamed from ffmpeg as the frames advance (only the 4 s windows being encoded are held).
:func:`enhance_many` runs it over files, folders and globs with one loaded model.
:func:`enhance_face` and :func:`mix_faces` are the single-image demo (the authors'
4-tile strip) and the mixing of faces with other people's voices (Fig. 1b, Fig. 5).

The modules, one job each:

- ``video``: :func:`enhance_video`, the two passes in order (Fig. 1);
- ``selection``: the tracks to replace and the overlay's size;
- ``batcher``: the frames waiting for their faces' codes, E_l / E_a / F / G in batches;
- ``render``: each frame enlarged with its faces put back, the videos written;
- ``report``: ``<stem>.report.json``;
- ``many``: :func:`enhance_many` and :func:`expand_inputs` (files, folders, globs);
- ``cluster``: :func:`enhance_many` over a Ray cluster (``ray=``: `vidsr enhance --ray`), a task per video;
- ``still``: single pictures, :func:`enhance_face`, :func:`mix_faces`, :func:`voice_code`;
- ``model``: loading the model and the face detector, mixed precision;
- ``voice``: z_a per frame time from the streamed 4 s windows, or per track from its speech;
- ``tracks``: a face on its way through the model, smoothing along a track, flicker;
- ``outputs``: the overlay and per-track videos a run writes (and deletes on failure);
- ``options``: the options' checks and defaults; ``timing``: seconds per stage;
- ``drawing``: how each face is drawn (:class:`Drawing`: one record, its defaults, checked once);
- ``constants``: the pipeline's fixed settings (the face finder's are in :mod:`vidsr.faces`).
"""

from vidsr.pipeline.constants import (
    AUDIO_HOP,
    BUFFER_BYTES,
    INSET_ENLARGE,
    MAX_OUTPUT,
    MODES,
    STAGES,
    VIDEO_EXTENSIONS,
)
from vidsr.pipeline.drawing import Drawing
from vidsr.pipeline.many import enhance_many, expand_inputs
from vidsr.pipeline.model import load_model, make_detector
from vidsr.pipeline.options import check_options, default_face_range, default_scale
from vidsr.pipeline.still import enhance_face, face_input, mix_faces, voice_code
from vidsr.pipeline.video import Progress, enhance_video

__all__ = [
    "AUDIO_HOP",
    "BUFFER_BYTES",
    "Drawing",
    "INSET_ENLARGE",
    "MAX_OUTPUT",
    "MODES",
    "STAGES",
    "VIDEO_EXTENSIONS",
    "Progress",
    "check_options",
    "default_face_range",
    "default_scale",
    "enhance_face",
    "enhance_many",
    "enhance_video",
    "expand_inputs",
    "face_input",
    "load_model",
    "make_detector",
    "mix_faces",
    "voice_code",
]
