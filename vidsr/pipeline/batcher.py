"""Pass 2's model side: frames wait here until their faces are through the model.

:class:`Batcher` owns the frames waiting for their faces' codes and the codes themselves:
z_f = z_l + F(z_l, z_a) in batches of faces, z~_f smoothed along each track (which needs
the codes of the next ``radius`` frames: the look-ahead), face = G(z~_f) drawn as its
:class:`~vidsr.pipeline.drawing.Drawing` says (refined toward and back-projected onto x~_l:
the weighted mean of the track's inputs over ``drawing.frames`` frames around the face's, each
input the face's own pixels, ``Face.own``, with ``drawing.own_pixels``, else its x_l).
Frames come out in order, each with its faces' images, once nothing they need is still to
come (the look-ahead is the larger of the two windows' radii).
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

from vidsr.pipeline.drawing import DEFAULT, Drawing
from vidsr.pipeline.timing import Clock
from vidsr.pipeline.tracks import Face, smoothing_weights

RAW_EVERY = 4  # flicker without smoothing is measured on the pairs of frames (f, f + 1), f a multiple of this


class Batcher:
    """The frames waiting for their faces' batch and look-ahead, and the codes z_f.

    :meth:`add` a frame with its faces (x_l set, :class:`Face`); it returns the frames now
    ready (each ``(frame, faces)``, ``face.image`` = G(z~_f) and ``face.raw`` = G(z_f) set),
    in order. The model runs when ``batch`` faces are waiting or ``max_frames`` frames are
    held; :meth:`finish` returns the rest. ``heard[track]`` counts the faces encoded with a
    voice code. ``raw``: compute G(z_f) unsmoothed too, to measure flicker: for the pairs
    of frames (f, f + 1) with f a multiple of RAW_EVERY (a sample of the pairs: G runs
    on 2 / RAW_EVERY more faces instead of twice as many); the others get ``raw`` None."""

    def __init__(self, model, voice, device, autocast, clock: Clock, *, batch: int, radius: int,
                 max_frames: int, raw: bool, drawing: Drawing = DEFAULT):
        self.model, self.voice, self.device, self.autocast, self.clock = model, voice, device, autocast, clock
        self.batch, self.radius, self.max_frames, self.raw = batch, radius, max_frames, raw
        self.drawing, self.frames_radius = drawing, drawing.frames // 2
        self.reach = self.look_ahead(radius, drawing.frames)
        self._weights: dict[int, object] = {}  # smoothing weights by radius, as tensors on the device
        self.pending: deque[tuple[object, list[Face]]] = deque()
        self.history: dict[int, dict[int, object]] = {}  # z_f by frame, per track
        self.inputs: dict[int, dict[int, object]] = {}  # targets by frame, per track (for frames > 1)
        self.heard: Counter = Counter()
        self.waiting = 0  # faces not yet through E_l / E_a / F

    @staticmethod
    def look_ahead(radius: int, frames: int) -> int:
        """The frames after a face its output needs: the smoothing's radius, or half the
        back-projection's ``frames``, the larger."""
        return max(radius, frames // 2)

    @staticmethod
    def frames_held(batch: int, radius: int, frame_bytes: int, buffer_bytes: int) -> int:
        """How many frames may wait: enough for a batch and the look-ahead on both sides,
        within about ``buffer_bytes`` of frames (but never fewer than the look-ahead needs)."""
        return max(2 * radius + 8, min(batch + 2 * radius, buffer_bytes // max(frame_bytes, 1)))

    def add(self, frame, faces: list[Face]) -> list[tuple[object, list[Face]]]:
        self.pending.append((frame, faces))
        self.waiting += len(faces)
        if self.waiting >= self.batch or len(self.pending) >= self.max_frames:
            self.waiting = 0
            return self._flush(final=False)
        return []

    def finish(self) -> list[tuple[object, list[Face]]]:
        return self._flush(final=True) if self.pending else []

    def _flush(self, final: bool) -> list[tuple[object, list[Face]]]:
        pending = self.pending
        self._encode([f for _, faces in pending for f in faces if f.z is None])
        last = pending[-1][0].index
        ready = [(fr, faces) for fr, faces in pending if final or fr.index + self.reach <= last]
        self._generate([f for _, faces in ready for f in faces])
        for _ in ready:
            pending.popleft()
        keep_from = (pending[0][0].index if pending else last + 1) - self.reach
        for h in (*self.history.values(), *self.inputs.values()):
            for g in [g for g in h if g < keep_from]:
                del h[g]
        return ready

    def _pixels(self, crops: np.ndarray):
        """uint8 crops [B, n, n, 3] -> [B, 3, n, n] in [-1, 1], on the model's device."""
        import torch

        return torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1

    def _inputs(self, faces: list[Face]):
        """The faces' x_l [B, 3, l, l] in [-1, 1], on the model's device."""
        return self._pixels(np.stack([f.crop for f in faces]))

    def _own(self, face: Face):
        """A face's back-projection input [3, n, n]: its own pixels (``own_pixels``), else x_l."""
        return self._pixels(np.stack([face.own if self.drawing.own_pixels and face.own is not None else face.crop]))[0]

    def _encode(self, faces: list[Face]) -> None:
        """z_f = z_l + F(z_l, z_a) for faces, in batches (z_f = z_l for a face without z_a)."""
        import torch

        model = self.model
        for i in range(0, len(faces), self.batch):
            chunk = faces[i:i + self.batch]
            x_l = self._inputs(chunk)
            z_a = self.voice.codes_for(chunk) if self.voice is not None else [None] * len(chunk)
            heard = [i for i, code in enumerate(z_a) if code is not None]
            with self.clock("model"), torch.inference_mode(), self.autocast():
                z = model.encode_lowres(x_l).float()
                if len(heard) == len(chunk):
                    z = model.fuse(z, torch.stack(z_a)).float()
                elif heard:  # some faces have a voice, the others keep z_l
                    z[heard] = model.fuse(z[heard], torch.stack([z_a[i] for i in heard])).float()
            for i in heard:
                self.heard[chunk[i].track] += 1
            for f, zf in zip(chunk, z):
                f.z = zf
                self.history.setdefault(f.track, {})[f.frame] = zf
                if self.frames_radius:
                    self.inputs.setdefault(f.track, {})[f.frame] = self._own(f)

    def _window_mean(self, values: dict, frame: int, radius: int):
        """The triangular-weighted mean of ``values`` (frame -> tensor) over frame - radius ..
        frame + radius, the frames a track has there."""
        import torch

        frames = [g for g in range(frame - radius, frame + radius + 1) if g in values]
        if radius not in self._weights:  # on the model's device once, not one copy per face (a GPU's)
            self._weights[radius] = torch.from_numpy(smoothing_weights(radius)).to(self.device)
        weights, first = self._weights[radius], frames[0] - frame + radius
        if frames[-1] - frames[0] == len(frames) - 1:  # consecutive (a track has no gaps): a slice
            w = weights[first:first + len(frames)]
        else:
            w = weights[torch.tensor([g - frame + radius for g in frames], device=self.device)]
        stacked = torch.stack([values[g] for g in frames])
        return (w.view(-1, *[1] * (stacked.dim() - 1)) * stacked).sum(0) / w.sum()

    def _smoothed(self, face: Face):
        """z~_f: the weighted mean of z_f over the track's frames within the radius."""
        return face.z if self.radius == 0 else self._window_mean(self.history[face.track], face.frame, self.radius)

    def _target(self, faces: list[Face]) -> list:
        """x~_l of each face, [3, n, n] (n: its track's, :meth:`_own`): its track's inputs
        averaged over ``frames``."""
        if not self.frames_radius:
            return [self._own(f) for f in faces]
        return [self._window_mean(self.inputs[f.track], f.frame, self.frames_radius) for f in faces]

    def _draw(self, z, targets: list | None) -> list[np.ndarray]:
        """The faces shown for codes z [B, k, d] (:meth:`FaceSR.draw`) as R x R x 3 uint8, each
        onto its target; one call per target size (tracks differ)."""
        import torch

        from vidsr.imaging import to_uint8

        model, d = self.model, self.drawing
        steps, strength, detail = d.refine, d.back_project, d.detail
        if targets is None:
            return list(to_uint8(model.draw(z, None, steps, strength, detail)))
        out: list = [None] * len(targets)
        for side in sorted({t.shape[-1] for t in targets}):
            idx = [i for i, t in enumerate(targets) if t.shape[-1] == side]
            drawn = model.draw(z[idx], torch.stack([targets[i] for i in idx]), steps, strength, detail)
            for i, image in zip(idx, to_uint8(drawn)):
                out[i] = image
        return out

    def _generate(self, faces: list[Face]) -> None:
        """face.image = G(z~_f) (and face.raw = G(z_f)), refined toward and back-projected onto
        x~_l, in batches."""
        import torch

        for i in range(0, len(faces), self.batch):
            chunk = faces[i:i + self.batch]
            with self.clock("model"), torch.inference_mode(), self.autocast():
                uses_target = self.drawing.uses_target or self.model.reads_pixels
                targets = self._target(chunk) if uses_target else None
                images = self._draw(torch.stack([self._smoothed(f) for f in chunk]), targets)
                raws = list(images)
                if self.radius and self.raw:
                    sampled = [i for i, f in enumerate(chunk) if f.frame % RAW_EVERY < 2]
                    raws = [None] * len(chunk)
                    if sampled:
                        raw = self._draw(torch.stack([chunk[i].z for i in sampled]),
                                         [targets[i] for i in sampled] if targets is not None else None)
                        for i, image in zip(sampled, raw):
                            raws[i] = image
                elif not self.raw:
                    raws = [None] * len(chunk)
            for f, image, raw in zip(chunk, images, raws):
                f.image, f.raw = image, raw
