"""Pass 2's model side: frames wait here until their faces are through the model.

:class:`Batcher` owns the frames waiting for their faces' codes and the codes themselves:
z_f = z_l + F(z_l, z_a) in batches of faces, z~_f smoothed along each track (which needs
the codes of the next ``radius`` frames: the look-ahead), face = G(z~_f). Frames come out
in order, each with its faces' images, once nothing they need is still to come.
"""

from __future__ import annotations

from collections import Counter, deque

import numpy as np

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
                 max_frames: int, raw: bool):
        self.model, self.voice, self.device, self.autocast, self.clock = model, voice, device, autocast, clock
        self.batch, self.radius, self.max_frames, self.raw = batch, radius, max_frames, raw
        self.weights = smoothing_weights(radius)
        self._weights = None  # the same, as a tensor on the device
        self.pending: deque[tuple[object, list[Face]]] = deque()
        self.history: dict[int, dict[int, object]] = {}  # z_f by frame, per track
        self.heard: Counter = Counter()
        self.waiting = 0  # faces not yet through E_l / E_a / F

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
        ready = [(fr, faces) for fr, faces in pending if final or fr.index + self.radius <= last]
        self._generate([f for _, faces in ready for f in faces])
        for _ in ready:
            pending.popleft()
        keep_from = (pending[0][0].index if pending else last + 1) - self.radius
        for h in self.history.values():
            for g in [g for g in h if g < keep_from]:
                del h[g]
        return ready

    def _encode(self, faces: list[Face]) -> None:
        """z_f = z_l + F(z_l, z_a) for faces, in batches (z_f = z_l for a face without z_a)."""
        import torch

        model = self.model
        for i in range(0, len(faces), self.batch):
            chunk = faces[i:i + self.batch]
            x_l = torch.from_numpy(np.stack([f.crop for f in chunk])).to(self.device)
            x_l = x_l.permute(0, 3, 1, 2).float() / 127.5 - 1
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

    def _smoothed(self, face: Face):
        """z~_f: the weighted mean of z_f over the track's frames within the radius."""
        import torch

        radius = self.radius
        if radius == 0:
            return face.z
        codes = self.history[face.track]
        frames = [g for g in range(face.frame - radius, face.frame + radius + 1) if g in codes]
        if self._weights is None:  # on the model's device once, not one copy per face (a GPU's)
            self._weights = torch.from_numpy(self.weights).to(self.device)
        first = frames[0] - face.frame + radius
        if frames[-1] - frames[0] == len(frames) - 1:  # consecutive (a track has no gaps): a slice
            w = self._weights[first:first + len(frames)]
        else:
            w = self._weights[torch.tensor([g - face.frame + radius for g in frames], device=self.device)]
        z = torch.stack([codes[g] for g in frames])
        return (w[:, None, None] * z).sum(0) / w.sum()

    def _generate(self, faces: list[Face]) -> None:
        """face.image = G(z~_f) (and face.raw = G(z_f)), in batches."""
        import torch

        from vidsr.imaging import to_uint8

        for i in range(0, len(faces), self.batch):
            chunk = faces[i:i + self.batch]
            with self.clock("model"), torch.inference_mode(), self.autocast():
                z = torch.stack([self._smoothed(f) for f in chunk])
                images = to_uint8(self.model.generate(z))
                raws = list(images)
                if self.radius and self.raw:
                    sampled = [i for i, f in enumerate(chunk) if f.frame % RAW_EVERY < 2]
                    raws = [None] * len(chunk)
                    if sampled:
                        for i, raw in zip(sampled, to_uint8(self.model.generate(torch.stack([chunk[i].z for i in sampled])))):
                            raws[i] = raw
                elif not self.raw:
                    raws = [None] * len(chunk)
            for f, image, raw in zip(chunk, images, raws):
                f.image, f.raw = image, raw
