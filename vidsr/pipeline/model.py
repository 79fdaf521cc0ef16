"""Loading the model and the face detector (devices and precision: :mod:`vidsr.devices`)."""

from __future__ import annotations


def load_model(weights=None, device: str = "auto"):
    """The FaceSR model (E_l, E_a, F, G) from ``weights`` (default: the shipped model)."""
    from vidsr.devices import pick_device
    from vidsr.models.facesr import FaceSR
    from vidsr.weights import resolve_weights

    return FaceSR.load(resolve_weights(weights), pick_device(device))


def model_device(model):
    """The device the model's weights are on."""
    return next(model.parameters()).device


def make_detector(device, face_range: tuple[float, float] | None):
    """The face detector, on the model's device. It looks for faces from 8 px (the
    detector's usual floor), or from a ``face_range`` minimum of 4 to 8 px (slower: the
    enlarged frame it searches grows with (12 / min)^2); a minimum under 4 (the default
    range's 1: no lower bound) keeps the 8 px floor, so ``--face-range 1:16`` is the default."""
    from vidsr.faces import TinyFaceDetector

    min_face = 8 if face_range is None or not 4 <= face_range[0] < 8 else int(face_range[0])
    return TinyFaceDetector(device="cuda" if device.type == "cuda" else "cpu", min_face=min_face)
