"""Finding tiny faces (about 8 px wide and up) with MTCNN.

MTCNN's first stage (P-Net) looks at 12x12 windows, so a face smaller than 12 px can only
be found in an enlarged frame. :class:`TinyFaceDetector` runs MTCNN's three networks
(the facenet-pytorch weights) with its own driver, built for that:

1. P-Net over an image pyramid whose largest level enlarges the frame by
   ``12 / min_face`` (bicubic), so a ``min_face`` face fills P-Net's window; the
   smaller levels (x0.709 each) catch every larger face in the same pass. Each level is
   resized straight from the original frame (OpenCV), and a level bigger than
   ``max_side`` squared pixels goes through P-Net in horizontal strips, so memory stays
   bounded for 4K frames.
2. R-Net and 3. O-Net on the candidate boxes, each cut out of the original frame with
   sub-pixel accuracy (an 8 px face is enlarged to R-Net's 24 px and O-Net's 48 px
   input directly, which is what running them on an enlarged frame would do).

Compared with ``facenet_pytorch.MTCNN.detect`` on an enlarged frame this never holds the
enlarged frame, skips the 1-pixel area resize facenet does at every level, runs P-Net
channels-last (about twice as fast on CPU), and pads boxes at the frame's border
instead of stretching them. The work grows with the enlarged frame's area: about 0.2 s
for a 640x360 frame on one CPU core with ``min_face=8``, several seconds for 4K.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from vidsr.errors import VidsrError
from vidsr.imaging import resize

MTCNN_WINDOW = 12
"""P-Net's window: the smallest face MTCNN can see, in pixels of the image it is given."""

PYRAMID_FACTOR = 0.709
"""Scale step between pyramid levels (MTCNN's usual value)."""


@dataclass
class Detection:
    """One face: ``box`` is xyxy float32 in the original frame's pixels (it may stick out
    of the frame a little); ``landmarks`` is 5x2 (eyes, nose, mouth corners) or None."""

    box: np.ndarray
    score: float
    landmarks: np.ndarray | None = field(default=None, repr=False)


def _scaled(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` scaled by ``scale`` (bicubic up, area-averaged down)."""
    h, w = image.shape[:2]
    return resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), "bicubic" if scale > 1 else "area")


def _patch(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    """The square ``box`` of ``image`` resampled to ``size`` x ``size``, zeros outside the
    frame (as MTCNN was trained)."""
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    side = max(x1 - x0, y1 - y0, 1.0)
    if side > 2 * size:
        # Big box: cut at whole pixels, then shrink with area averaging (no aliasing).
        h, w = image.shape[:2]
        ix0, iy0 = math.floor(x0), math.floor(y0)
        ix1, iy1 = max(ix0 + 1, math.ceil(x1)), max(iy0 + 1, math.ceil(y1))
        crop = image[max(iy0, 0) : max(min(iy1, h), 0), max(ix0, 0) : max(min(ix1, w), 0)]
        crop = cv2.copyMakeBorder(
            crop,
            max(-iy0, 0) if crop.size else iy1 - iy0,
            max(iy1 - h, 0) if crop.size else 0,
            max(-ix0, 0) if crop.size else ix1 - ix0,
            max(ix1 - w, 0) if crop.size else 0,
            cv2.BORDER_CONSTANT,
            value=0,
        )
        return resize(crop, size, "area")
    # Small box: one bicubic resample with sub-pixel placement.
    sx, sy = (x1 - x0) / size, (y1 - y0) / size
    matrix = np.array([[sx, 0, x0 + 0.5 * sx - 0.5], [0, sy, y0 + 0.5 * sy - 0.5]], np.float64)
    return cv2.warpAffine(
        image, matrix, (size, size), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT, borderValue=0,
    )  # fmt: skip


def _squared(boxes: np.ndarray) -> np.ndarray:
    """Boxes (N x >=4) made square about their centres (side = the longer side)."""
    boxes = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] += (w - side) / 2
    boxes[:, 1] += (h - side) / 2
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply MTCNN's box regression (offsets in units of the box's width and height)."""
    boxes = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    boxes[:, 0:4] += reg[:, 0:4] * np.stack([w, h, w, h], axis=1)
    return boxes


def _nms(boxes: np.ndarray, iou: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (column 4 is the score). Mode
    ``"min"`` divides the overlap by the smaller box's area instead of the union, which
    also removes a box lying mostly inside a better one."""
    order = np.argsort(-boxes[:, 4], kind="stable")
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        iw = np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])
        ih = np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])
        inter = np.clip(iw, 0, None) * np.clip(ih, 0, None)
        if mode == "min":
            denom = np.minimum(area[i], area[rest])
        else:
            denom = area[i] + area[rest] - inter
        order = rest[inter / np.maximum(denom, 1e-9) <= iou]
    return np.array(keep, dtype=int)


class TinyFaceDetector:
    """MTCNN tuned for faces from ``min_face`` px wide upwards, in frames of any size.

    >>> detector = TinyFaceDetector(min_face=8)
    >>> faces = detector.detect(frame)        # HxWx3 uint8 RGB
    >>> faces[0].box, faces[0].score

    ``threshold`` are MTCNN's three stage thresholds. ``max_side``: P-Net is given at
    most ``max_side`` squared pixels at once (bigger pyramid levels go in strips). The
    MTCNN weights ship with facenet-pytorch and are loaded once, here.
    """

    def __init__(
        self,
        device: str = "cpu",
        min_face: int = 8,
        threshold: tuple[float, float, float] = (0.6, 0.7, 0.7),
        max_side: int = 2048,
    ):
        import torch
        from facenet_pytorch import MTCNN

        if min_face < 4:
            raise ValueError(f"min_face must be at least 4 px, got {min_face}")
        if max_side < 4 * MTCNN_WINDOW:
            raise ValueError(f"max_side must be at least {4 * MTCNN_WINDOW}, got {max_side}")
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise VidsrError(f"unknown device '{device}' (try 'cpu' or 'cuda')") from None
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise VidsrError(f"device '{device}' is not available on this machine (use 'cpu')")
        self._torch = torch
        self.device = dev
        self.min_face = min_face
        self.max_side = max_side
        self.threshold = tuple(float(t) for t in threshold)
        # How much the pyramid's largest level enlarges the frame.
        self.scale = MTCNN_WINDOW / min_face
        mtcnn = MTCNN(keep_all=True, post_process=False, device=dev).eval()
        self.pnet = mtcnn.pnet.to(memory_format=torch.channels_last)
        self.rnet = mtcnn.rnet
        self.onet = mtcnn.onet

    # -- public ------------------------------------------------------------------------

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in one HxWx3 uint8 RGB frame, best score first."""
        image = self._check(image)
        with self._torch.inference_mode():
            boxes = self._stage1(image)
            boxes, _ = self._refine(image, boxes, self.rnet, 24, self.threshold[1])
            boxes, points = self._refine(image, boxes, self.onet, 48, self.threshold[2])
        return [
            Detection(box=b[:4].astype(np.float32), score=float(b[4]), landmarks=p.astype(np.float32))
            for b, p in zip(boxes, points)
        ]

    def detect_regions(self, image: np.ndarray, regions: np.ndarray) -> list[Detection]:
        """Faces inside ``regions`` (N x 4 xyxy, frame pixels) of one frame: the cheap search
        around faces already followed. P-Net runs on each region's pixels only (the same
        pyramid scales as :meth:`detect`, so a face is seen at the same sizes); R-Net and
        O-Net refine on the whole frame, so a face near a region's edge is cut as in
        :meth:`detect`. A face outside every region is not found."""
        image = self._check(image)
        h, w = image.shape[:2]
        found = []
        with self._torch.inference_mode():
            for x0, y0, x1, y1 in np.asarray(regions, np.float64).reshape(-1, 4):
                ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
                ix1, iy1 = min(w, math.ceil(x1)), min(h, math.ceil(y1))
                if min(ix1 - ix0, iy1 - iy0) * self.scale < MTCNN_WINDOW:
                    continue
                boxes = self._stage1(image[iy0:iy1, ix0:ix1])
                boxes[:, [0, 2]] += ix0
                boxes[:, [1, 3]] += iy0
                found.append(boxes)
            boxes = np.concatenate(found) if found else np.zeros((0, 5), np.float32)
            if len(found) > 1:
                boxes = boxes[_nms(boxes, 0.7)]
            boxes, _ = self._refine(image, boxes, self.rnet, 24, self.threshold[1])
            boxes, points = self._refine(image, boxes, self.onet, 48, self.threshold[2])
        return [
            Detection(box=b[:4].astype(np.float32), score=float(b[4]), landmarks=p.astype(np.float32))
            for b, p in zip(boxes, points)
        ]

    def scales(self, height: int, width: int) -> list[float]:
        """The pyramid's scales for a frame of this size, largest first."""
        out, s = [], self.scale
        while min(height, width) * s >= MTCNN_WINDOW:
            out.append(s)
            s *= PYRAMID_FACTOR
        return out

    # -- internals -----------------------------------------------------------------------

    @staticmethod
    def _check(image: np.ndarray) -> np.ndarray:
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 RGB image, got {image.dtype} {image.shape}")
        return np.ascontiguousarray(image)

    def _tensor(self, images: np.ndarray, channels_last: bool = False):
        """uint8 NxHxWx3 -> normalised float NCHW tensor on the device."""
        t = self._torch.from_numpy(np.ascontiguousarray(images)).to(self.device)
        t = (t.float() - 127.5) * 0.0078125
        t = t.permute(0, 3, 1, 2)
        fmt = self._torch.channels_last if channels_last else self._torch.contiguous_format
        return t.contiguous(memory_format=fmt)

    def _stage1(self, image: np.ndarray) -> np.ndarray:
        """P-Net candidates over the pyramid: N x 5 (xyxy, score) in frame pixels,
        regressed and squared."""
        h, w = image.shape[:2]
        found = []
        for s in self.scales(h, w):
            level = _scaled(image, s)
            lh, lw = level.shape[:2]
            sx, sy = lw / w, lh / h  # the level's real scale after rounding
            # Strips of even height overlapping by window - stride rows, so every
            # stride-2 window position is seen exactly as in one pass.
            rows = max(MTCNN_WINDOW + 2, (self.max_side * self.max_side // lw) // 2 * 2)
            y0 = 0
            while True:
                strip = level[y0 : y0 + rows]
                if strip.shape[0] >= MTCNN_WINDOW:
                    reg, prob = self.pnet(self._tensor(strip[None], channels_last=True))
                    found.append(self._pnet_boxes(reg[0], prob[0, 1], sx, sy, y0))
                if y0 + rows >= lh:
                    break
                y0 += rows - (MTCNN_WINDOW - 2)
        boxes = np.concatenate(found) if found else np.zeros((0, 9), np.float32)
        boxes = boxes[_nms(boxes, 0.7)]
        return _squared(_regress(boxes[:, :5], boxes[:, 5:9]))

    def _pnet_boxes(self, reg, prob, sx: float, sy: float, y0: int) -> np.ndarray:
        """P-Net's windows above threshold in one strip: N x 9 (xyxy, score, regression)
        in frame pixels, after NMS within the strip."""
        prob = prob.cpu().numpy()
        ys, xs = np.nonzero(prob >= self.threshold[0])
        if len(ys) == 0:
            return np.zeros((0, 9), np.float32)
        reg = reg.cpu().numpy()[:, ys, xs].T  # N x 4
        # Window (x, y) of the output map covers level pixels [2x, 2x + 12) x [2y + y0, ...).
        wx0, wy0 = 2.0 * xs, 2.0 * ys + y0
        boxes = np.stack(
            [wx0 / sx, wy0 / sy, (wx0 + MTCNN_WINDOW) / sx, (wy0 + MTCNN_WINDOW) / sy, prob[ys, xs]],
            axis=1,
        )
        boxes = np.concatenate([boxes, reg], axis=1).astype(np.float32)
        return boxes[_nms(boxes, 0.5)]

    def _refine(self, image: np.ndarray, boxes: np.ndarray, net, size: int, threshold: float):
        """Run R-Net (size 24) or O-Net (size 48) on the candidate boxes; keep those above
        ``threshold``, regressed. Returns (boxes N x 5, landmarks N x 5 x 2 or None)."""
        if len(boxes) == 0:
            return boxes, np.zeros((0, 5, 2), np.float32)
        patches = np.stack([_patch(image, b, size) for b in boxes])
        outs = [net(self._tensor(patches[i : i + 512])) for i in range(0, len(patches), 512)]
        outs = [self._torch.cat(parts).cpu().numpy() for parts in zip(*outs)]
        reg, prob = outs[0], outs[-1][:, 1]
        keep = prob > threshold
        boxes, reg = boxes[keep].copy(), reg[keep]
        boxes[:, 4] = prob[keep]
        points = np.zeros((len(boxes), 5, 2), np.float32)
        if len(outs) == 3:  # O-Net: landmarks as fractions of the box, then final boxes
            marks = outs[1][keep]
            w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
            points[:, :, 0] = boxes[:, 0:1] + marks[:, 0:5] * w[:, None]
            points[:, :, 1] = boxes[:, 1:2] + marks[:, 5:10] * h[:, None]
            boxes = _regress(boxes, reg)
            pick = _nms(boxes, 0.7, mode="min")
            return boxes[pick], points[pick]
        boxes = _squared(_regress(boxes, reg))
        return boxes[_nms(boxes, 0.7)], points
