"""Back-projection onto the face's own pixels against onto the 8x8 input, offline, per face size.

Test-split faces of a prepared set, degraded as real tiny faces are (vidsr.data.degrade, seeded)
at a fixed width in the frame, cut twice from the same degraded frame: the model's l x l input
x_l and the crop at the face's own size (``degrade_face(own=True)``, as ``vidsr enhance`` cuts
it). G(E_l(x_l)) is back-projected at strength 1, keeping the share ``detail`` of G's detail,
onto each; both bicubic upscalings are the baselines. Judged by dlib's face descriptor against
the original face: mean distance, and the paired difference to the 8x8 target at the first
detail (mean +- standard error).

    python research/scripts/own_pixels_offline.py --data SET --weights W -n 256 --face-px 10,14 --detail 0.2,0.4
    python research/scripts/own_pixels_offline.py ... --source 2     # only LFW's test photos (the third folder of SET)

One JSON line per face width and setting. The measure that decides the default is the real
footage (``vidsr evaluate ... --own-pixels / --lowres-pixels``); this is the quick one.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from vidsr.data.degrade import degrade_face
from vidsr.imaging import from_uint8, to_uint8
from vidsr.models.facesr import FaceSR
from vidsr.models.lapsrn import bicubic
from refine_sweep import identity_distance, test_faces


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("-n", type=int, default=256)
    ap.add_argument("--face-px", default="10,14", help="comma-separated face widths in the frame, px")
    ap.add_argument("--detail", default="0.4", help="comma-separated shares of G's detail")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--source", type=int, default=None,
                    help="only the test faces of this source folder of the set (0, 1, ...; each photo once)")
    args = ap.parse_args()

    model = FaceSR.load(args.weights)
    r, l = model.preset.resolution, model.preset.lr_size
    details = [float(v) for v in args.detail.split(",")]
    x_h = test_faces(args.data, args.n, r, args.source)
    distance = identity_distance(x_h)

    for px in (float(v) for v in args.face_px.split(",")):
        rng = np.random.default_rng(args.seed)
        made = [degrade_face(f, l, rng, face_px=(px, px), own=True) for f in to_uint8(x_h)]
        x_l = torch.stack([from_uint8(crop) for crop, _ in made])
        own = [from_uint8(info["own"])[None] for _, info in made]
        with torch.inference_mode():
            g = model.generate(model.encode_lowres(x_l)).float()
            scores = {"bicubic 8x8": distance(bicubic(x_l, r)),
                      "bicubic own": distance(torch.cat([bicubic(o, r) for o in own]))}
            for d in details:
                scores[f"8x8 target, detail {d:g}"] = distance(model.back_project(g, x_l, 1.0, d))
                scores[f"own target, detail {d:g}"] = distance(
                    torch.cat([model.back_project(g[i:i + 1], o, 1.0, d) for i, o in enumerate(own)]))
        base = scores[f"8x8 target, detail {details[0]:g}"]
        sides = sorted({o.shape[-1] for o in own})
        for name, d in scores.items():
            diff = d - base
            print(json.dumps({"face_px": px, "own_sides": [sides[0], sides[-1]], "setting": name, "n": len(d),
                              "distance": round(float(d.mean()), 4), "paired": round(float(diff.mean()), 4),
                              "paired_se": round(float(diff.std(ddof=1) / np.sqrt(len(d))), 4)}), flush=True)


if __name__ == "__main__":
    main()
