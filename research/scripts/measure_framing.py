"""Where faces sit in UTKFace and LFW photos, and how much the detector's box moves on tiny faces.

    python research/scripts/measure_framing.py [--shared ../shared/data] [-n 50] [--seed 0]

Runs the project's detector (vidsr.faces.TinyFaceDetector, MTCNN) on n random UTKFace photos
and n random LFW photos (largest face of each), and prints one JSON object:

- ``utkface``: how the photo is framed around the box: its side over the box width
  (``scale``) and how far the photo's centre is below / right of the box centre, as a
  fraction of the photo's side (``shift_y``, ``shift_x``); medians and interquartile ranges.
  These are the numbers behind vidsr.faces.crop.TRAINING_CROP_SCALE / _SHIFT.
- ``lfw``: the box in LFW's 250x250 frame (width, centre), and the crop of the frame that
  frames LFW faces as UTKFace's are (UTKFace's median scale and shift applied to LFW's median
  box), as fractions of the frame: the constants of vidsr.data.lfw.
- ``lfw_tight_check``: the LFW photos cut by vidsr.data.lfw.crop_lfw at the tight scale,
  measured as the UTKFace photos are (they should agree with ``utkface``).
- ``jitter``: the same LFW photos shrunk so the face box is W px wide (W in 8, 10, 12, 16):
  the detector's box on the tiny face against the full-size box scaled down, as the centre's
  shift and the log width ratio in units of the box; the miss rate. The spreads are what
  vidsr.data.degrade draws its box jitter from.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from vidsr.data.lfw import crop_lfw, framing_scale
from vidsr.faces import TinyFaceDetector
from vidsr.imaging import read_rgb, resize

TINY_WIDTHS = (8, 10, 12, 16)


def largest_box(detector: TinyFaceDetector, rgb: np.ndarray) -> np.ndarray | None:
    faces = detector.detect(rgb)
    if not faces:
        return None
    return max(faces, key=lambda f: f.box[2] - f.box[0]).box.astype(np.float64)


def framing_of(box: np.ndarray, side: int) -> tuple[float, float, float]:
    """(side / box width, centre shift down, centre shift right) of a square photo around a box."""
    w = box[2] - box[0]
    return side / w, (side / 2 - (box[1] + box[3]) / 2) / side, (side / 2 - (box[0] + box[2]) / 2) / side


def stats(values) -> dict:
    v = np.asarray(values, np.float64)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"median": round(float(med), 4), "iqr": [round(float(q1), 4), round(float(q3), 4)],
            "mean": round(float(v.mean()), 4), "std": round(float(v.std()), 4), "n": int(v.size)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared" / "data")
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    big = TinyFaceDetector(min_face=40)
    tiny = TinyFaceDetector(min_face=8)

    utk_files = sorted((args.shared / "utkface").glob("*.jpg"))
    utk = {"scale": [], "shift_y": [], "shift_x": []}
    missed_utk = 0
    for i in rng.choice(len(utk_files), args.n, replace=False):
        rgb = read_rgb(utk_files[i])
        box = largest_box(big, rgb)
        if box is None:
            missed_utk += 1
            continue
        for k, v in zip(("scale", "shift_y", "shift_x"), framing_of(box, rgb.shape[1])):
            utk[k].append(v)

    rows = list(csv.DictReader((args.shared / "lfw" / "labels.csv").open()))
    lfw = {"width": [], "cx": [], "cy": []}
    check = {"scale": [], "shift_y": [], "shift_x": []}
    jitter = {w: {"dx": [], "dy": [], "log_scale": [], "missed": 0} for w in TINY_WIDTHS}
    missed_lfw = 0
    for i in rng.choice(len(rows), args.n, replace=False):
        rgb = read_rgb(args.shared / "lfw" / rows[i]["image"])
        box = largest_box(big, rgb)
        if box is None:
            missed_lfw += 1
            continue
        w = box[2] - box[0]
        lfw["width"].append(w)
        lfw["cx"].append((box[0] + box[2]) / 2)
        lfw["cy"].append((box[1] + box[3]) / 2)
        cut = crop_lfw(rgb, 128, framing_scale("tight"))
        cut_box = largest_box(big, cut)
        if cut_box is not None:
            for k, v in zip(("scale", "shift_y", "shift_x"), framing_of(cut_box, cut.shape[1])):
                check[k].append(v)
        for tw in TINY_WIDTHS:
            s = tw / w
            small = resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)), "area")
            found = tiny.detect(small)
            truth = box * s
            near = [f.box for f in found if abs((f.box[0] + f.box[2]) / 2 - (truth[0] + truth[2]) / 2) < tw]
            if not near:
                jitter[tw]["missed"] += 1
                continue
            b = min(near, key=lambda b: abs((b[0] + b[2]) / 2 - (truth[0] + truth[2]) / 2)).astype(np.float64)
            jitter[tw]["dx"].append(((b[0] + b[2]) - (truth[0] + truth[2])) / 2 / tw)
            jitter[tw]["dy"].append(((b[1] + b[3]) - (truth[1] + truth[3])) / 2 / tw)
            jitter[tw]["log_scale"].append(float(np.log((b[2] - b[0]) / tw)))

    u = {k: stats(v) for k, v in utk.items()}
    lf = {k: stats(v) for k, v in lfw.items()}
    frame = 250.0
    side = u["scale"]["median"] * lf["width"]["median"]
    crop = {"side": round(side / frame, 4), "cx": round(lf["cx"]["median"] / frame, 4),
            "cy": round((lf["cy"]["median"] + u["shift_y"]["median"] * side) / frame, 4)}
    out = {
        "utkface": {**u, "missed": missed_utk},
        "lfw": {**lf, "missed": missed_lfw, "tight_crop_of_frame": crop},
        "lfw_tight_check": {k: stats(v) for k, v in check.items()},
        "jitter": {str(tw): {"dx": stats(j["dx"]), "dy": stats(j["dy"]), "log_scale": stats(j["log_scale"]),
                             "missed": j["missed"]} for tw, j in jitter.items() if j["dx"]},
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
