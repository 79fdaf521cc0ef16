"""The fidelity path (R) against the zoom of the own pixels, offline: the quick probe for choosing runs.

Test-split photos of a prepared set (``--source 2``: LFW's, each photo once), degraded as the
pipeline cuts real tiny faces (vidsr.data.degrade, seeded, the same draw for every model) at a
fixed width in the frame; each model draws them from the own pixels with no voice (z_l) and with
a test speaker of the face's gender (z_f), and with a test speaker of the other gender; judged
against the original by dlib's face descriptor (distance, paired against the zoom: mean +-
standard error) and its gender CNN (balanced accuracy; the share that takes the other voice's gender).

    python research/scripts/fidelity_offline.py --data SET --source 2 -n 200 --face-px 10,14 \
        --drawing 0,1 MODEL_A MODEL_B ...

``--drawing S,D``: the back-projection strength and detail share applied to each model's faces
(0,1: the model's face as it is). One JSON line per model, face width and voice. The measure
that decides is the real footage (``vidsr evaluate --footage ...``); this one costs minutes.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.data.degrade import degrade_face
from vidsr.data.shards import ShardDataset
from vidsr.eval.judges import face_embedder, pretrained_gender
from vidsr.imaging import from_uint8, to_uint8, upsample_bicubic
from vidsr.models.facesr import FaceSR


def test_items(data: str, n: int, resolution: int, source: int | None):
    """(faces [n,3,R,R], genders [n], own voices [n, samples]) of the test split, each photo once;
    voices are the split's own pairing (a test speaker of the face's gender)."""
    ds = ShardDataset(data, "test", shuffle=False, with_audio=True, hr_size=resolution, epochs=1)
    faces, genders, audio, seen = [], [], [], set()
    for item in ds:
        key = (item["identity"], item["video"])
        if (source is not None and item["source"] != source) or key in seen or item["gender"] < 0:
            continue
        seen.add(key)
        faces.append(torch.as_tensor(item["hr"]))
        genders.append(int(item["gender"]))
        audio.append(torch.as_tensor(item["audio"]))
        if len(faces) == n:
            break
    return torch.stack(faces), np.array(genders), torch.stack(audio)


def other_voices(genders: np.ndarray, audio: torch.Tensor) -> torch.Tensor:
    """For each face, the voice of the next face of the other gender (cyclically)."""
    out = []
    for i, g in enumerate(genders):
        j = next(k % len(genders) for k in range(i + 1, i + 1 + len(genders)) if genders[k % len(genders)] != g)
        out.append(audio[j])
    return torch.stack(out)


def balanced(correct: np.ndarray, genders: np.ndarray) -> float:
    return float(np.mean([correct[genders == g].mean() for g in (0, 1) if (genders == g).any()]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--data", required=True)
    ap.add_argument("-n", type=int, default=200)
    ap.add_argument("--source", type=int, default=None)
    ap.add_argument("--face-px", default="10,14")
    ap.add_argument("--drawing", default="0,1", help="back-projection strength, detail share")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    strength, detail = (float(v) for v in args.drawing.split(","))

    first = FaceSR.load(args.models[0])
    r, l = first.preset.resolution, first.preset.lr_size
    x_h, genders, own_audio = test_items(args.data, args.n, r, args.source)
    specs = {"own voice": log_spectrogram(own_audio), "other voice": log_spectrogram(other_voices(genders, own_audio))}
    embedder, gender_judge = face_embedder(), pretrained_gender()
    for judge in (embedder, gender_judge):
        if isinstance(judge, str):
            raise SystemExit(judge)
    original = embedder.embed(x_h)

    def judged(x: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        x = x.clamp(-1, 1)
        return np.linalg.norm(embedder.embed(x) - original, axis=1), gender_judge.predict(x)

    for px in (float(v) for v in args.face_px.split(",")):
        rng = np.random.default_rng(args.seed)
        made = [degrade_face(f, l, rng, face_px=(px, px), own=True) for f in to_uint8(x_h)]
        x_l = torch.stack([from_uint8(crop) for crop, _ in made])
        own = [from_uint8(info["own"])[None] for _, info in made]
        zoom_d, zoom_g = judged(torch.cat([upsample_bicubic(o, r) for o in own]))
        print(json.dumps({"face_px": px, "model": "zoom", "n": len(zoom_d), "distance": round(float(zoom_d.mean()), 4),
                          "gender_balanced": round(balanced(zoom_g == genders, genders), 4)}), flush=True)
        for path in args.models:
            model = FaceSR.load(path)
            with torch.inference_mode():
                z_l = model.encode_lowres(x_l)
                codes = {"no voice": z_l, **{k: model.fuse(z_l, model.encode_audio(s)) for k, s in specs.items()}}
                faces = {k: torch.cat([model.draw(z[i:i + 1], o, 0, strength, detail) for i, o in enumerate(own)])
                         for k, z in codes.items()}
            silent_g = None
            for voice, x in faces.items():
                d, g = judged(x)
                diff = d - zoom_d
                row = {"face_px": px, "model": path, "voice": voice, "n": len(d), "distance": round(float(d.mean()), 4),
                       "vs_zoom": round(float(diff.mean()), 4), "vs_zoom_se": round(float(diff.std(ddof=1) / np.sqrt(len(d))), 4),
                       "gender_balanced": round(balanced(g == genders, genders), 4)}
                if voice == "no voice":
                    silent_g = g
                if voice == "other voice":
                    row["takes_other_voice"] = round(float((g != genders).mean()), 4)
                    row["other_gender_no_voice"] = round(float((silent_g != genders).mean()), 4)
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
