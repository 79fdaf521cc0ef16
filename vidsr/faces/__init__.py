"""Tiny-face detection, tracking and cropping.

- :class:`TinyFaceDetector` finds faces from about 8 px wide (MTCNN on an enlarged frame).
- :class:`FaceTracker` follows them from frame to frame (Kalman + Hungarian matching).
- :func:`track_video` does both over a video file and returns :class:`Track` objects.
- :func:`square_box` and :func:`crop_face` cut a face out for the super-resolution model.
"""

from vidsr.faces.crop import crop_face, resize_image, square_box, training_crop_box
from vidsr.faces.detect import Detection, TinyFaceDetector
from vidsr.faces.track import BoxKalman, FaceTracker, KalmanParams, Track, iou_matrix, rts_smooth
from vidsr.faces.video import faces_by_frame, iter_tracked_frames, track_video

__all__ = [
    "BoxKalman",
    "Detection",
    "FaceTracker",
    "KalmanParams",
    "TinyFaceDetector",
    "Track",
    "crop_face",
    "faces_by_frame",
    "iou_matrix",
    "iter_tracked_frames",
    "resize_image",
    "rts_smooth",
    "square_box",
    "track_video",
    "training_crop_box",
]
