"""Does E_a hear the voice? Measures an audio encoder against its targets on held-out samples.

    python research/scripts/probe_voice_codes.py --data data/utkface --runs runs/cpu [--audio FILE] [-n 600]

For the first n test samples: the L1 of E_a(a) to the flip-averaged E_h codes z-bar (eq. 3),
the same L1 of the global median code and of the per-gender median codes (what a voice that
tells only the gender can reach), the spread of E_a's outputs against the targets' spread,
5-fold logistic-regression gender probes on E_a(a) and on z-bar, and C_g's reading of G(E_a(a)).
Prints one JSON object. ``--audio`` defaults to RUNS/audio/weights.safetensors; any file
holding E_a (a fusion run, an exported model) works.
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
from vidsr.models.encoders import AudioEncoder, HighResEncoder
from vidsr.models.generator import Generator
from vidsr.models.io import load_networks, read_preset
from vidsr.train.stages.common import flip_average


def gender_probe(x: np.ndarray, y: np.ndarray) -> float:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    return float(cross_val_score(LogisticRegression(max_iter=2000, C=0.1), x, y, cv=5).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--audio", type=Path)
    ap.add_argument("-n", type=int, default=600)
    args = ap.parse_args()
    torch.set_num_threads(1)
    audio_file = args.audio or args.runs / "audio" / "weights.safetensors"
    p = read_preset(audio_file)
    G, E_h, E_a = Generator(p), HighResEncoder(p), AudioEncoder(p)
    load_networks(args.runs / "generator" / "weights.safetensors", {"G": G}, strict=False)
    load_networks(args.runs / "highres" / "weights.safetensors", {"E_h": E_h})
    load_networks(audio_file, {"E_a": E_a})
    C_g = load_classifiers(args.runs / "classifiers" / "weights.safetensors")["C_g"]
    ds = ShardDataset(args.data, "test", shuffle=False, with_audio=True, hr_size=p.resolution, epochs=1)
    items = list(islice(iter(ds), args.n))
    gender = np.array([it["gender"] for it in items])
    z_bar, z_a, judged = [], [], []
    with torch.no_grad():
        for i in range(0, len(items), 50):
            part = items[i : i + 50]
            z_bar.append(flip_average(E_h.eval(), torch.stack([it["hr"] for it in part])))
            code = E_a.eval()(log_spectrogram(torch.stack([it["audio"] for it in part])))
            z_a.append(code)
            judged.append(C_g(G.eval()(code)).argmax(1))
    z_bar, z_a = torch.cat(z_bar).flatten(1), torch.cat(z_a).flatten(1)
    judged = torch.cat(judged).numpy()
    by_gender = torch.from_numpy(gender).long()
    medians = torch.stack([z_bar[by_gender == k].median(0).values for k in (0, 1)])
    result = {
        "audio": str(audio_file), "samples": len(items),
        "l1_E_a": (z_a - z_bar).abs().mean().item(),
        "l1_global_median": (z_bar - z_bar.median(0).values).abs().mean().item(),
        "l1_gender_median": (z_bar - medians[by_gender]).abs().mean().item(),
        "std_E_a": z_a.std(0).mean().item(), "std_targets": z_bar.std(0).mean().item(),
        "gender_probe_E_a": gender_probe(z_a.numpy(), gender),
        "gender_probe_targets": gender_probe(z_bar.numpy(), gender),
        "C_g_on_G_E_a": float((judged == gender).mean()), "share_female_G_E_a": float(judged.mean()),
        "share_female_labels": float(gender.mean()),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
