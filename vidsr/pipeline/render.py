"""Pass 2's output side: each frame enlarged and its faces put back, the videos written."""

from __future__ import annotations

from typing import Callable

import numpy as np

from vidsr.pipeline.constants import INSET_ENLARGE
from vidsr.pipeline.outputs import Outputs
from vidsr.pipeline.timing import Clock
from vidsr.pipeline.tracks import Face, Flicker


class Renderer:
    """Writes one frame at a time, its faces done (:class:`vidsr.pipeline.batcher.Batcher`).

    The overlay (when ``out`` has one open): the frame resized to ``size`` (bicubic), each
    face pasted into its box, feathered and colour-matched (:class:`EnlargedFrame`: in I420
    planes, for an overlay writer opened with ``yuv=True``; ``inset``: in RGB, drawn
    enlarged beside it); each face to its track's video (``tracks``), to ``on_face(face)``, and to its
    track's :class:`Flicker` (``flicker``). ``frames``: frames written;
    ``progress("enhancing", frames, total)`` after each."""

    def __init__(self, out: Outputs, clock: Clock, info, size: tuple[int, int], resolution: int, *,
                 inset: bool, tracks: bool, flicker: dict[int, Flicker],
                 on_face: Callable[[Face], None] | None, progress: Callable[[str, int, int], None] | None):
        self.out, self.clock, self.info, self.size, self.resolution = out, clock, info, size, resolution
        self.inset, self.tracks, self.flicker, self.on_face, self.progress = inset, tracks, flicker, on_face, progress
        self.yuv = out.overlay is not None and out.overlay.pix_fmt == "yuv420p"
        if self.yuv:  # I420 needs an even size: enlarged to it (not cropped to it)
            size = self.size = (size[0] // 2 * 2, size[1] // 2 * 2)
        self.box_scale = np.array([size[0] / info.width, size[1] / info.height] * 2, np.float32)
        self.frames = 0
        # The enlarged frame is drawn into one buffer, reused (a fresh 12 MB array per 2.7K
        # frame costs more in page faults than the resize itself); the writer has sent it
        # to ffmpeg before the next frame is drawn.
        self._canvas = None

    def __call__(self, frame, faces: list[Face]) -> None:
        if self.out.overlay is not None:
            with self.clock("paste"):
                image = self.overlay_frame(frame.image, faces)
            with self.clock("encode"):
                self.out.overlay.write(image)
        for f in faces:
            if self.on_face is not None:
                self.on_face(f)
            self.flicker[f.track].add(f.image, f.raw)
            if self.tracks:
                with self.clock("encode"):
                    self.out.write_track(f)
        self.frames += 1
        if self.progress:
            self.progress("enhancing", self.frames, max(self.info.num_frames, self.frames))

    def overlay_frame(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """The frame enlarged, with its faces put back (RGB, or I420 planes for a yuv writer)."""
        from vidsr.faces.paste import EnlargedFrame, draw_inset, paste_face
        from vidsr.imaging import resize

        if self.yuv:
            if self._canvas is None:
                self._canvas = EnlargedFrame(self.size)
            self._canvas.draw(image)
            for f in faces:
                self._canvas.paste(f.image, f.box * self.box_scale)
            return self._canvas.data
        if self.size != (self.info.width, self.info.height):
            if self._canvas is None:
                self._canvas = np.empty((self.size[1], self.size[0], 3), np.uint8)
            image = resize(image, self.size, "bicubic", dst=self._canvas)
        for f in faces:
            box = f.box * self.box_scale
            if self.inset:
                draw_inset(image, f.image, box, max(self.resolution, INSET_ENLARGE * (box[2] - box[0])))
            else:
                paste_face(image, f.image, box)
        return image
