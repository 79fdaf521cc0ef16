"""How each output face is drawn: one record, :class:`Drawing`, with the defaults in one place.

G draws a face from the codes; nothing in it makes the face, shrunk back to the input's size,
the input again. So the pipeline (``vidsr enhance``, ``vidsr image``, ``vidsr evaluate
--footage``) draws every face the same way, by these six settings:

- ``smooth``: seconds of the triangular moving average of z_f along each track (0: off).
- ``refine``: steps of Adam that move each face's styles until D(G) comes nearer its target,
  before the back-projection (:meth:`vidsr.models.facesr.FaceSR.refine`; 0: the encoders' code).
- ``back_project`` (S): the strength of the back-projection x + S up(x~_l - D(x))
  (:meth:`vidsr.models.facesr.FaceSR.back_project`): 1 puts the target's low frequencies
  (colour, light, shape, pose) back whole; 0: G's face as it is (the paper's G(z~_f)).
- ``detail``: the share of G's own detail (x - up(D x), what D cannot see) kept in the face
  shown: at S = 1 the face is up(x~_l) + detail (x - up(D x)); 1: all of it, 0: bicubic from
  the target (the fidelity-realism trade of face restorers, CodeFormer's w).
- ``frames`` (K): the target x~_l is the triangular-weighted mean of the track's inputs over
  this many frames around the face (odd; 1: the face's own).
- ``own_pixels``: each of those inputs is the face's own pixels (its crop box at the track's
  own size, l to R px: :func:`vidsr.pipeline.tracks.own_side`), not the l x l input E_l reads.

A :class:`Drawing` is checked once, when it is made (:class:`vidsr.errors.VidsrError` for a
value out of range), passed whole, and written whole into each report (``settings.drawing``).
The measurements behind the defaults, made on the real-footage evaluation (real faces shrunk to
10 px, the whole pipeline, pretrained judges): ``research/drawing.md`` and the folders it links.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from vidsr.errors import VidsrError


@dataclass(frozen=True)
class Drawing:
    """How each output face is drawn (see the module's doc); the defaults are the pipeline's."""

    # 0.4 s (11 frames at 25 fps): the window of the moving average of z_f along a track.
    smooth: float = 0.4
    # Off: 5 steps brought the faces no nearer the person on real footage (+0.004 +- 0.007 per
    # clip), lost the voice's gender (the refined face follows the ambiguous picture) and cost
    # 1.6x the time (research/refine).
    refine: int = 0
    # 1: the low frequencies are the footage's own, G adds what D cannot see. Against 0 (at K =
    # 11): own-voice identity distance 0.720 vs 0.727, gender from the picture alone 68.8 vs
    # 66.1 %, the voice's say smaller, flicker 0.388 vs 0.195 levels (research/drawing.md).
    back_project: float = 1.0
    # 0.4 against 1: faces nearer the person (identity distance 0.692 vs 0.710, LFW rank-1 12.9
    # vs 7.6 %), less flicker; the voice's say smaller (own-voice gender 84.4 vs 99.8 %): the
    # lowest share tried that keeps the voice's targets (research/detail).
    detail: float = 0.4
    # 11 (0.44 s at 25 fps, the smoothing's window): one frame's input carries its noise into the
    # face; averaging halves that flicker (research/drawing.md).
    frames: int = 11
    # A face wider than l px keeps every pixel the footage has of it (a 14 px face's crop is 17
    # px: shrunk to 8x8 it loses 3/4 of them): own-voice identity distance -0.026 +- 0.005 per
    # clip over 122 clips at 10 px against onto the 8x8 input (research/own-pixels).
    own_pixels: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.smooth, bool) or not isinstance(self.smooth, (int, float)) or not self.smooth >= 0:
            raise VidsrError(f"smooth must be >= 0 seconds, got {self.smooth}")
        if isinstance(self.refine, bool) or not isinstance(self.refine, int) or self.refine < 0:
            raise VidsrError(f"refine must be a number of steps >= 0, got {self.refine}")
        if isinstance(self.back_project, bool) or not isinstance(self.back_project, (int, float)) \
                or not 0 <= self.back_project <= 1:
            raise VidsrError(f"back-project strength must be between 0 and 1, got {self.back_project}")
        if isinstance(self.detail, bool) or not isinstance(self.detail, (int, float)) or not 0 <= self.detail <= 1:
            raise VidsrError(f"detail must be between 0 and 1, got {self.detail}")
        if isinstance(self.frames, bool) or not isinstance(self.frames, int) or self.frames < 1 or self.frames % 2 == 0:
            raise VidsrError(f"frames must be an odd number >= 1 (the face's frame and as many on each side), "
                             f"got {self.frames}")
        if not isinstance(self.own_pixels, bool):
            raise VidsrError(f"own_pixels must be true or false, got {self.own_pixels!r}")

    @classmethod
    def given(cls, **values) -> "Drawing":
        """A Drawing of the values given (not None); the defaults for the rest (a command's
        options, None where the user gave none)."""
        return cls(**{k: v for k, v in values.items() if v is not None})

    def replace(self, **changes) -> "Drawing":
        """This drawing with some settings changed (checked again)."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict:
        """The record as the reports write it."""
        return dataclasses.asdict(self)

    @property
    def uses_target(self) -> bool:
        """Whether the faces need their inputs (refinement, back-projection or a detail under 1)."""
        return bool(self.back_project or self.refine or self.detail != 1)

    def smooth_radius(self, fps: float) -> int:
        """The moving average's radius in frames at ``fps`` (its window: 2 radius + 1 frames)."""
        return int(round(self.smooth * fps)) // 2


DEFAULT = Drawing()
