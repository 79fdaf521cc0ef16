"""Does the fused output follow the voice? The test split's audio swap for exported models.

    python research/scripts/probe_fusion.py --data SET --classifiers RUNS/classifiers/weights.safetensors \
        MODEL.safetensors [MODEL ...] [-n 400] [--pretrained]

For the first n test samples (faces of held-out people, voices of held-out speakers), each
model's output from the 8x8 input degraded as a real tiny face is (vidsr.data.degrade, a fixed
seed; ``--clean``: the paper's bicubic D) with no voice (E_l only), with the sample's own voice,
and with the voice of a test sample of the other gender. Reports the gender accuracy of each
by our C_g (and by the pretrained dlib judge with ``--pretrained``; evaluation only), the share
of outputs that take the other voice's gender (and the same share with no voice; also per
gender: men given a woman's voice, women given a man's), and bicubic
and the high-res faces for reference. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.data.shards import ShardDataset
from vidsr.models.classifiers import load_classifiers
from vidsr.imaging import downsample
from vidsr.models.facesr import FaceSR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", type=Path)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--classifiers", type=Path, required=True)
    ap.add_argument("-n", type=int, default=400)
    ap.add_argument("--clean", action="store_true")
    ap.add_argument("--pretrained", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    C_g = load_classifiers(args.classifiers)["C_g"]
    judges = {"C_g": lambda x: C_g(x).argmax(1).numpy()}
    if args.pretrained:
        from vidsr.eval.judges import pretrained_gender

        judge = pretrained_gender()
        judges["pretrained"] = judge.predict
    first = FaceSR.load(args.models[0])
    res = first.preset.resolution
    ds = ShardDataset(args.data, "test", shuffle=False, with_audio=True, hr_size=res, epochs=1)
    items = list(islice(iter(ds), args.n))
    hr = torch.stack([torch.as_tensor(it["hr"]) for it in items])
    gender = np.array([int(it["gender"]) for it in items])
    spec = log_spectrogram(torch.stack([torch.as_tensor(it["audio"]) for it in items]))
    # the other voice: the i-th face of one gender hears the i-th (cyclically) sample of the other
    other = np.zeros(len(items), dtype=np.int64)
    for g in (0, 1):
        mine, theirs = np.flatnonzero(gender == g), np.flatnonzero(gender == 1 - g)
        other[mine] = theirs[np.arange(len(mine)) % len(theirs)]
    if args.clean:
        x_l = downsample(hr, first.preset.lr_size)
    else:
        from vidsr.data.degrade import degrade_batch

        x_l = degrade_batch(hr, first.preset.lr_size, np.random.default_rng(12345))
    result = {"samples": len(items), "inputs": "clean" if args.clean else "degraded", "share_female": float(gender.mean()),
              "reference": {}}
    bicubic = torch.nn.functional.interpolate(x_l, size=(res, res), mode="bicubic", align_corners=False).clamp(-1, 1)
    for name, judge in judges.items():
        result["reference"][name] = {"high-res": float((judge(hr) == gender).mean()),
                                     "bicubic": float((judge(bicubic) == gender).mean())}
    for path in args.models:
        model = FaceSR.load(path)
        outs = {}
        with torch.no_grad():
            for cond in ("none", "own", "other"):
                faces = []
                for i in range(0, len(items), 50):
                    s = slice(i, i + 50)
                    a = None if cond == "none" else spec[s] if cond == "own" else spec[torch.as_tensor(other[s])]
                    faces.append(model(x_l[s], a))
                outs[cond] = torch.cat(faces).clamp(-1, 1)
        row = {}
        for name, judge in judges.items():
            said = {c: judge(x) for c, x in outs.items()}
            row[name] = {f"right_{c}": float((said[c] == gender).mean()) for c in said}
            row[name]["takes_other_voice"] = float((said["other"] == 1 - gender).mean())
            row[name]["takes_it_no_voice"] = float((said["none"] == 1 - gender).mean())
            row[name]["judged_female_own"] = float(said["own"].mean())
            for label, who in ((0, "men"), (1, "women")):  # the lean: which gender a voice turns more easily
                rows = gender == label
                row[name][f"takes_other_voice_{who}"] = float((said["other"][rows] == 1 - label).mean())
                row[name][f"right_own_{who}"] = float((said["own"][rows] == label).mean())
        result[str(path)] = row
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
