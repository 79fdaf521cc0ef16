"""Following faces from frame to frame.

:class:`FaceTracker` runs the detector every ``detect_every`` frames and, in between,
moves each face with a constant-velocity Kalman filter (:class:`BoxKalman`). On a frame
with detections, predicted boxes and detections are paired by IoU with the Hungarian
method (``scipy.optimize.linear_sum_assignment``); an unpaired detection starts a new
track, a track that goes unpaired ``max_misses`` detection passes in a row ends.

Two kinds of smoothing:

- online, for streaming use: :meth:`FaceTracker.update` returns each live face's box
  smoothed by an exponential moving average;
- offline, when a track is finished: a Rauch-Tung-Striebel smoother (:func:`rts_smooth`)
  over the track's detections gives one smooth box for every frame of the track,
  including the frames between detection passes.

The Kalman filter works on (centre x, centre y, width, height), each coordinate with
its own position-and-velocity state (the four are independent), with noise in
proportion to the face's size, so the same settings suit 8 px and 200 px faces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy.optimize import linear_sum_assignment

from vidsr.faces import DETECT_EVERY, FULL_EVERY, SEARCH_GROW

if TYPE_CHECKING:
    from vidsr.faces.detect import Detection, TinyFaceDetector

# Constant-velocity model, one step = one frame.
_F = np.array([[1.0, 1.0], [0.0, 1.0]])
_Q_UNIT = np.array([[0.25, 0.5], [0.5, 1.0]])  # white-noise acceleration


def box_to_z(box: np.ndarray) -> np.ndarray:
    """xyxy -> (cx, cy, w, h)."""
    x0, y0, x1, y1 = np.asarray(box, np.float64)[:4]
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0])


def z_to_box(z: np.ndarray) -> np.ndarray:
    """(cx, cy, w, h) -> xyxy float32 (widths kept at least 1 px)."""
    cx, cy = z[0], z[1]
    w, h = max(z[2], 1.0), max(z[3], 1.0)
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], np.float32)


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (Nx4 xyxy) with every box in ``b`` (Mx4): NxM."""
    a = np.asarray(a, np.float64).reshape(-1, 4)[:, None, :]
    b = np.asarray(b, np.float64).reshape(-1, 4)[None, :, :]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = iw * ih
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / np.maximum(area_a + area_b - inter, 1e-9)


def _grow(boxes: np.ndarray, factor: float) -> np.ndarray:
    """Boxes scaled by ``factor`` about their centres."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    c = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]) / 2 * factor
    return np.concatenate([c - half, c + half], axis=1)


@dataclass
class KalmanParams:
    """Noise of the box model, as fractions of the face's size (px per frame).

    ``measure``: the detector's box jitter; ``accel``: how fast a face may change speed
    (per frame squared); ``velocity0``: the speed uncertainty of a new track.
    """

    measure: float = 0.06
    accel: float = 0.01
    velocity0: float = 0.1


class BoxKalman:
    """A constant-velocity Kalman filter of one face box (four independent 1-D filters)."""

    def __init__(self, box: np.ndarray, params: KalmanParams | None = None):
        self.params = params or KalmanParams()
        z = box_to_z(box)
        self.size = float(max(np.sqrt(max(z[2] * z[3], 1.0)), 1.0))
        self.x = np.stack([z, np.zeros(4)], axis=1)  # (4, 2): position, velocity
        r = (self.params.measure * self.size) ** 2
        v = (self.params.velocity0 * self.size) ** 2
        self.P = np.tile(np.diag([r, v]), (4, 1, 1))  # (4, 2, 2)

    @property
    def Q(self) -> np.ndarray:
        return _Q_UNIT * (self.params.accel * self.size) ** 2

    @property
    def R(self) -> float:
        return (self.params.measure * self.size) ** 2

    @property
    def box(self) -> np.ndarray:
        return z_to_box(self.x[:, 0])

    def predict(self) -> np.ndarray:
        """Advance one frame; the predicted box."""
        self.x = self.x @ _F.T
        self.P = _F @ self.P @ _F.T + self.Q
        return self.box

    def update(self, box: np.ndarray) -> None:
        """Correct with a detected box."""
        z = box_to_z(box)
        s = self.P[:, 0, 0] + self.R  # (4,)
        k = self.P[:, :, 0] / s[:, None]  # (4, 2) gain
        self.x = self.x + k * (z - self.x[:, 0])[:, None]
        self.P = self.P - k[:, :, None] * self.P[:, 0:1, :]
        # Track the face's size so the noise follows it when it grows or shrinks.
        self.size = float(max(np.sqrt(max(z[2] * z[3], 1.0)), 1.0))


def rts_smooth(
    frames: list[int] | np.ndarray,
    boxes: list[np.ndarray] | np.ndarray,
    first: int,
    last: int,
    params: KalmanParams | None = None,
) -> np.ndarray:
    """Smooth boxes for every frame ``first..last`` from boxes measured at ``frames``.

    A forward Kalman pass (predicting every frame, correcting where a box was measured)
    and a backward Rauch-Tung-Striebel pass; frames without a measurement are filled in
    smoothly. Returns a (last - first + 1) x 4 float32 array of xyxy boxes.
    """
    params = params or KalmanParams()
    frames = np.asarray(frames, int)
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    n = last - first + 1
    measured = np.full(n, -1)
    measured[frames - first] = np.arange(len(frames))
    z = np.array([box_to_z(b) for b in boxes])
    size = float(np.median(np.sqrt(np.maximum(z[:, 2] * z[:, 3], 1.0))))
    q = _Q_UNIT * (params.accel * size) ** 2
    r = (params.measure * size) ** 2

    xs_pred = np.empty((n, 4, 2))
    ps_pred = np.empty((n, 4, 2, 2))
    xs = np.empty((n, 4, 2))
    ps = np.empty((n, 4, 2, 2))
    x = np.stack([z[measured[measured >= 0][0]], np.zeros(4)], axis=1)
    p = np.tile(np.diag([r, (params.velocity0 * size) ** 2]), (4, 1, 1))
    for t in range(n):
        if t > 0:
            x = x @ _F.T
            p = _F @ p @ _F.T + q
        xs_pred[t], ps_pred[t] = x, p
        if measured[t] >= 0:
            s = p[:, 0, 0] + r
            k = p[:, :, 0] / s[:, None]
            x = x + k * (z[measured[t]] - x[:, 0])[:, None]
            p = p - k[:, :, None] * p[:, 0:1, :]
        xs[t], ps[t] = x, p

    for t in range(n - 2, -1, -1):
        gain = ps[t] @ _F.T @ np.linalg.inv(ps_pred[t + 1])  # (4, 2, 2)
        xs[t] = xs[t] + np.einsum("kij,kj->ki", gain, xs[t + 1] - xs_pred[t + 1])
        ps[t] = ps[t] + gain @ (ps[t + 1] - ps_pred[t + 1]) @ gain.transpose(0, 2, 1)
    return np.stack([z_to_box(x[:, 0]) for x in xs])


@dataclass
class Track:
    """One face followed through the video.

    ``frames`` are consecutive frame indices; ``boxes[i]`` (xyxy float32, original frame
    pixels) is the face in ``frames[i]``. ``scores[i]`` is the detector's score where the
    face was detected in that frame, else 0.0; ``detected[i]`` says which.
    """

    id: int
    frames: list[int]
    boxes: list[np.ndarray]
    scores: list[float]
    detected: list[bool] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.frames[0]

    @property
    def last(self) -> int:
        return self.frames[-1]

    @property
    def num_detections(self) -> int:
        return int(sum(self.detected))

    @property
    def mean_size(self) -> float:
        """The face's mean size in pixels: its box's mean width (as in "a 10 px face";
        MTCNN's boxes are about 1.4 times as high as wide)."""
        b = np.asarray(self.boxes, np.float64).reshape(-1, 4)
        return float(np.mean(b[:, 2] - b[:, 0]))

    def box_at(self, frame: int) -> np.ndarray | None:
        """The face's box in ``frame``, or None outside the track."""
        i = frame - self.frames[0]
        return self.boxes[i] if 0 <= i < len(self.frames) else None

    def to_dict(self, decimals: int = 2) -> dict:
        """A JSON-ready description."""
        return {
            "id": self.id,
            "first_frame": self.first,
            "last_frame": self.last,
            "mean_size": round(self.mean_size, decimals),
            "frames": [int(f) for f in self.frames],
            "boxes": [[round(float(v), decimals) for v in b] for b in self.boxes],
            "scores": [round(float(s), 4) for s in self.scores],
            "detected": [bool(d) for d in self.detected],
        }


class _LiveTrack:
    """A track being followed: its filter and the detections so far."""

    def __init__(self, id: int, frame: int, det: Detection, params: KalmanParams):
        self.id = id
        self.kalman = BoxKalman(det.box, params)
        self.first = frame
        self.last_seen = frame  # the last frame processed while this track was alive
        self.det_frames = [frame]
        self.det_boxes = [np.asarray(det.box, np.float32)[:4].copy()]
        self.det_scores = [float(det.score)]
        self.misses = 0  # detection passes in a row without this face
        self.ema = self.kalman.box

    @property
    def hits(self) -> int:
        return len(self.det_frames)

    def hit(self, frame: int, det: Detection) -> None:
        self.kalman.update(det.box)
        self.det_frames.append(frame)
        self.det_boxes.append(np.asarray(det.box, np.float32)[:4].copy())
        self.det_scores.append(float(det.score))
        self.misses = 0


class FaceTracker:
    """Detect faces every ``detect_every`` frames and follow them in between.

    Streaming use: call :meth:`update` with every frame in order (it returns the faces
    in that frame), then :meth:`finish` for the finished, smoothed tracks. :meth:`step`
    does the same with detections you supply (or None on frames without a detection
    pass), which is how the tracker is tested without a detector.

    - ``iou_threshold``: the least IoU for a detection to continue a track. IoU is taken
      on boxes grown by ``match_grow`` about their centres, which keeps tiny fast faces
      matched when the prediction is off by a few pixels.
    - ``full_every``: frames between two passes over the whole frame; the passes between
      them search only around the faces being followed (``detector.detect_regions``,
      regions ``search_grow`` times the predicted box, plus 8 px), which costs a small
      share of a full pass. A new face is found at the next full pass. ``full_every`` up
      to ``detect_every`` (or a detector without ``detect_regions``): every pass is full.
    - ``max_misses``: detection passes a track may miss before it ends.
    - ``min_hits``: tracks detected fewer times are dropped (false alarms), and are not
      reported by :meth:`update` until they have that many. A clip too short for that
      many detection passes (1-10 frames, say) needs a detection at every pass instead.
    - ``ema``: weight of the newest box in the online moving average (1 = no smoothing).
    - ``smooth``: smooth finished tracks with :func:`rts_smooth` (else the per-frame
      Kalman boxes are not kept and frames are filled by linear interpolation).
    """

    def __init__(
        self,
        detector: TinyFaceDetector | None = None,
        detect_every: int = DETECT_EVERY,
        full_every: int = FULL_EVERY,
        search_grow: float = SEARCH_GROW,
        iou_threshold: float = 0.2,
        match_grow: float = 1.5,
        max_misses: int = 2,
        min_hits: int = 3,
        ema: float = 0.5,
        smooth: bool = True,
        params: KalmanParams | None = None,
    ):
        if detect_every < 1:
            raise ValueError(f"detect_every must be at least 1, got {detect_every}")
        if not 0 < ema <= 1:
            raise ValueError(f"ema must be in (0, 1], got {ema}")
        self.detector = detector
        self.detect_every = detect_every
        self.full_every = full_every
        self.search_grow = search_grow
        self._full_passes = max(1, full_every // detect_every)  # every this many passes is full
        self.iou_threshold = iou_threshold
        self.match_grow = match_grow
        self.max_misses = max_misses
        self.min_hits = min_hits
        self.ema = ema
        self.smooth = smooth
        self.params = params or KalmanParams()
        self._live: list[_LiveTrack] = []
        self._ended: list[_LiveTrack] = []
        self._next_id = 0
        self._frames_seen = 0
        self._passes = 0  # detection passes so far
        self._last_frame: int | None = None

    # -- streaming ---------------------------------------------------------------------

    def is_detection_frame(self) -> bool:
        """Whether the next frame given to :meth:`update` gets a detection pass."""
        return self._frames_seen % self.detect_every == 0

    def update(self, frame: int, image: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Process the next frame (index ``frame``, HxWx3 RGB); runs the detector when due.

        Returns ``(track id, box)`` for the confirmed faces in this frame, boxes smoothed
        online.
        """
        if self.detector is None:
            raise RuntimeError("FaceTracker.update needs a detector; use step() without one")
        detections = None
        if self.is_detection_frame():
            if self._passes % self._full_passes == 0 or not hasattr(self.detector, "detect_regions"):
                detections = self.detector.detect(image)
            elif self._live:
                detections = self.detector.detect_regions(image, self.search_regions())
            else:  # nobody to search around: the next full pass looks for new faces
                detections = []
        return self.step(frame, detections)

    def search_regions(self) -> np.ndarray:
        """N x 4 xyxy: where each live track's face is searched in the next frame: its
        predicted box grown ``search_grow`` times about its centre, plus 8 px a side, out
        to the 16 px grid, so a face that moves little is searched in the same pixels pass
        after pass and found in the same place (P-Net's windows depend on where the
        search starts)."""
        out = []
        for t in self._live:
            cx, cy, bw, bh = t.kalman.x[:, 0] + t.kalman.x[:, 1]  # one step ahead
            half = max(bw, bh, 1.0) * self.search_grow / 2 + 8
            out.append([np.floor((cx - half) / 16) * 16, np.floor((cy - half) / 16) * 16,
                        np.ceil((cx + half) / 16) * 16, np.ceil((cy + half) / 16) * 16])
        return np.array(out, np.float64).reshape(-1, 4)

    def step(self, frame: int, detections: list[Detection] | None) -> list[tuple[int, np.ndarray]]:
        """Advance to ``frame`` with this frame's ``detections`` (None: no detection pass).

        Returns ``(track id, box)`` for the confirmed faces in this frame.
        """
        if self._last_frame is not None and frame <= self._last_frame:
            raise ValueError(f"frames must come in increasing order ({frame} after {self._last_frame})")
        self._last_frame = frame
        self._frames_seen += 1
        for t in self._live:
            t.kalman.predict()
            t.last_seen = frame
        if detections is not None:
            self._passes += 1
            self._associate(frame, list(detections))
        out = []
        for t in self._live:
            t.ema = self.ema * t.kalman.box + (1 - self.ema) * t.ema
            if t.hits >= self.min_hits:
                out.append((t.id, t.ema.astype(np.float32)))
        return out

    def finish(self) -> list[Track]:
        """End every track and return those kept, smoothed, ordered by first frame."""
        ended = self._ended + self._live
        self._live, self._ended = [], []
        needed = max(1, min(self.min_hits, self._passes))  # a short clip has few passes
        tracks = [self._finalise(t) for t in ended if t.hits >= needed]
        tracks.sort(key=lambda t: (t.first, t.id))
        return tracks

    # -- internals -------------------------------------------------------------------------

    def _associate(self, frame: int, detections: list[Detection]) -> None:
        pairs: list[tuple[int, int]] = []
        if self._live and detections:
            predicted = np.array([t.kalman.box for t in self._live])
            found = np.array([np.asarray(d.box, np.float64)[:4] for d in detections])
            iou = iou_matrix(_grow(predicted, self.match_grow), _grow(found, self.match_grow))
            rows, cols = linear_sum_assignment(-iou)
            pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= self.iou_threshold]
        paired_tracks = {r for r, _ in pairs}
        paired_dets = {c for _, c in pairs}
        for r, c in pairs:
            self._live[r].hit(frame, detections[c])
        still = []
        for i, t in enumerate(self._live):
            if i not in paired_tracks:
                t.misses += 1
            (still if t.misses <= self.max_misses else self._ended).append(t)
        self._live = still
        for c, d in enumerate(detections):
            if c not in paired_dets:
                self._live.append(_LiveTrack(self._next_id, frame, d, self.params))
                self._next_id += 1

    def _finalise(self, t: _LiveTrack) -> Track:
        """Frames from the first detection to the last one, or to the last frame seen
        when the face was still found at the last detection pass (the video ended
        before the next pass could miss it)."""
        last = t.last_seen if t.misses == 0 else t.det_frames[-1]
        frames = list(range(t.first, last + 1))
        if self.smooth:
            boxes = rts_smooth(t.det_frames, t.det_boxes, t.first, last, self.params)
        else:
            det = np.array(t.det_boxes, np.float64)
            boxes = np.stack(
                [np.interp(frames, t.det_frames, det[:, k]) for k in range(4)], axis=1
            ).astype(np.float32)
        scores = [0.0] * len(frames)
        detected = [False] * len(frames)
        for f, s in zip(t.det_frames, t.det_scores):
            scores[f - t.first] = s
            detected[f - t.first] = True
        return Track(id=t.id, frames=frames, boxes=list(boxes), scores=scores, detected=detected)
