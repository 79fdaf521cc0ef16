"""Tiny-face detection, tracking and cropping.

- :class:`TinyFaceDetector` finds faces from about 8 px wide (MTCNN on an enlarged frame).
- :class:`FaceTracker` follows them from frame to frame (Kalman + Hungarian matching).
- :func:`track_video` does both over a video file and returns :class:`Track` objects.
- :func:`square_box` and :func:`crop_face` cut a face out for the super-resolution model.
"""

from vidsr.lazy import lazy_attributes

DETECT_EVERY = 5  # frames between two detector passes (the tracker follows the faces in between)
FULL_EVERY = 25  # frames between two passes over the whole frame (between them: only around the faces followed)
SEARCH_GROW = 3.0  # those searches look in the predicted box grown this many times (plus 8 px)

# The names below are imported on first use (PEP 562), so that DETECT_EVERY costs nothing.
_WHERE = {
    "crop_face": "crop", "square_box": "crop", "training_crop_box": "crop",
    "Detection": "detect", "TinyFaceDetector": "detect",
    "BoxKalman": "track", "FaceTracker": "track", "KalmanParams": "track", "Track": "track",
    "iou_matrix": "track", "rts_smooth": "track",
    "faces_by_frame": "video", "iter_tracked_frames": "video", "track_video": "video",
}
__getattr__ = lazy_attributes(__name__, _WHERE)

__all__ = ["DETECT_EVERY", "FULL_EVERY", "SEARCH_GROW", *_WHERE]
