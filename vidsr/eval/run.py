"""``evaluate()``: Tables 1 and 2, the audio-swap test and Figs. 3-5 of the paper, for one
model, in two passes over one split of a prepared set.

1. Read: every face (kept as 8-bit, lossless) with its labels, and each voice through
   every available E_a (codes only: [k, d] per voice and encoder).
2. Judge: in batches, generate every available row, score it with PSNR/SSIM against the
   high-res face, C_g / C_i, the pretrained gender judge and the face embedder.

The audio-swap test pairs each face with the voice of a face of the other gender
(a fixed, seeded assignment over the evaluated samples) and counts how often the
judged gender follows the voice, next to the same faces with their own voice and with no
voice at all (E_l only).
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from vidsr.errors import VidsrError
from vidsr.eval import judges as J
from vidsr.eval.metrics import image_quality
from vidsr.eval.networks import Networks, load_networks_for_eval
from vidsr.eval.rows import ROWS, SWAP, TABLE1, TABLE2, VOICES, available, generate

SEED = 0


def _no_progress(task: str, done: int, total: int | None = None, note: str = "") -> None:
    pass


def read_split(bank: Networks, data: Path, split: str, limit: int | None, batch: int, device, progress) -> dict:
    """Pass 1: faces (uint8 [N,3,R,R]), labels and the voice codes of every E_a present."""
    from vidsr.audio.spectrogram import log_spectrogram
    from vidsr.data.shards import ShardDataset

    voices = [v for v in VOICES if v in bank.nets]
    ds = ShardDataset(data, split, shuffle=False, with_audio=bool(voices), hr_size=bank.preset.resolution, epochs=1)
    total = min(ds.num_samples, limit) if limit else ds.num_samples
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, num_workers=0)
    faces, labels, codes = [], defaultdict(list), defaultdict(list)
    progress("reading faces and voices", 0, total)
    seen = 0
    with torch.no_grad():
        for b in loader:
            take = min(len(b["hr"]), total - seen)
            if take <= 0:
                break
            faces.append(((b["hr"][:take] + 1) * 127.5).round().to(torch.uint8))
            for k in ("gender", "identity", "video", "age"):
                labels[k].append(b[k][:take])
            if voices:
                spec = log_spectrogram(b["audio"][:take].to(device))
                for v in voices:
                    codes[v].append(bank[v](spec).cpu())
            seen += take
            progress("reading faces and voices", seen, total)
            if seen >= total:
                break
    return {"faces": torch.cat(faces), **{k: torch.cat(v).numpy() for k, v in labels.items()},
            "codes": {v: torch.cat(c) for v, c in codes.items()}, "n": seen}


def swap_partners(gender: np.ndarray) -> np.ndarray:
    """For each sample, the index of a sample of the other gender whose voice it gets
    (-1 where its gender is unknown or no other-gender voice exists), in a seeded order."""
    rng = np.random.default_rng(SEED)
    partners = np.full(len(gender), -1)
    for g in (0, 1):
        mine, other = np.flatnonzero(gender == g), rng.permutation(np.flatnonzero(gender == 1 - g))
        if len(other):
            partners[mine] = other[np.arange(len(mine)) % len(other)]
    return partners


def _to_float(faces: torch.Tensor, device) -> torch.Tensor:
    return faces.to(device).float() / 127.5 - 1


def judge_all(bank: Networks, read: dict, rows: list[str], judges: dict, identity_idx: np.ndarray, batch: int,
              device, progress) -> dict:
    """Pass 2: per row, per-sample scores (arrays over the N samples; NaN / -1 = not scored)."""
    n = read["n"]
    partners = swap_partners(read["gender"])
    wanted_identity = np.zeros(n, bool)
    wanted_identity[identity_idx] = True
    out = {k: {"C_g": np.full(n, -1), "pretrained": np.full(n, -1), "C_i": np.full(n, -1),
               "psnr": np.full(n, np.nan), "ssim": np.full(n, np.nan), "emb": {}} for k in rows}
    embedder = judges.get("embedder")
    progress("generating and judging", 0, n * len(rows))
    done = 0
    for start in range(0, n, batch):
        idx = np.arange(start, min(n, start + batch))
        x_h = _to_float(read["faces"][idx], device)
        for key in rows:
            row = ROWS[key]
            done += len(idx)
            progress("generating and judging", done, n * len(rows))
            sel = idx
            if row.swap:
                sel = idx[partners[idx] >= 0]
                if not len(sel):
                    continue
            xs = x_h[sel - start]
            z_a = None
            if row.voice:
                src = partners[sel] if row.swap else sel
                z_a = read["codes"][row.voice][src].to(device)
            with torch.no_grad():
                img = generate(bank, row, xs, z_a)
                if "C_g" in bank.nets:
                    out[key]["C_g"][sel] = bank["C_g"](img).argmax(1).cpu().numpy()
                if "C_i" in bank.nets:
                    out[key]["C_i"][sel] = bank["C_i"].classes[bank["C_i"](img).argmax(1)].cpu().numpy()
            if "pretrained" in judges:
                out[key]["pretrained"][sel] = judges["pretrained"].predict(img)
            if key != "hr" and not row.swap:
                p, s = image_quality(img, xs)
                out[key]["psnr"][sel], out[key]["ssim"][sel] = p.cpu().numpy(), s.cpu().numpy()
            if embedder is not None and not row.swap:
                want = wanted_identity[sel]
                if want.any():
                    for i, e in zip(sel[want], embedder.embed(img[torch.from_numpy(want).to(img.device)])):
                        out[key]["emb"][int(i)] = e
    return out


def _acc(pred: np.ndarray, truth: np.ndarray) -> dict:
    ok = (pred >= 0) & (truth >= 0)
    return {"accuracy": float(np.mean(pred[ok] == truth[ok])) if ok.any() else None, "n": int(ok.sum())}


def summarise(bank: Networks, read: dict, scores: dict, missing: dict, embedder, identity_idx) -> dict:
    """Per-row figures, the swap test, all plain numbers for report.json."""
    gender, identity = read["gender"], read["identity"]
    partners = swap_partners(gender)
    rows = {}
    truth_i = None
    if "C_i" in bank.nets:  # C_i is scored on the samples of the identities it knows
        truth_i = np.where(np.isin(identity, bank["C_i"].classes.cpu().numpy()), identity, -1)
    gallery = None
    if embedder is not None and "hr" in scores:
        # The gallery: every distinct high-res test face, with its identity.
        emb_hr = scores["hr"]["emb"]
        keys, g_emb, g_ids = set(), [], []
        for i in sorted(emb_hr):
            h = J._hash(read["faces"][i].numpy())
            if h not in keys:
                keys.add(h)
                g_emb.append(emb_hr[i])
                g_ids.append(identity[i])
        gallery = (np.stack(g_emb), np.asarray(g_ids)) if g_emb else None
    for key, row in ROWS.items():
        entry = {"label": row.label, "available": key in scores, "missing": missing.get(key)}
        if key in scores:
            s = scores[key]
            truth = np.where(partners >= 0, 1 - gender, -1) if row.swap else gender
            entry["gender"] = {"C_g": _acc(s["C_g"], truth) if "C_g" in bank.nets else None,
                               "pretrained": _acc(s["pretrained"], truth) if s["pretrained"].max() >= 0 else None}
            entry["identity"] = {"C_i": _acc(s["C_i"], truth_i) if truth_i is not None else None}
            if not row.swap and key != "hr":
                entry["psnr"] = float(np.nanmean(s["psnr"])) if np.isfinite(s["psnr"]).any() else None
                entry["ssim"] = float(np.nanmean(s["ssim"])) if np.isfinite(s["ssim"]).any() else None
            if gallery is not None and s["emb"] and key != "hr":
                q = sorted(s["emb"])
                r = J.retrieval(np.stack([s["emb"][i] for i in q]), identity[q], gallery[0], gallery[1],
                                np.stack([scores["hr"]["emb"][i] for i in q]))
                if embedder.same_person is not None:
                    own = np.linalg.norm(np.stack([s["emb"][i] - scores["hr"]["emb"][i] for i in q]), axis=1)
                    r["same_person_share"] = float(np.mean(own < embedder.same_person))
                entry["identity"]["embedding"] = r
        rows[key] = entry
    return rows


def voice_effect(with_voice: np.ndarray, without: np.ndarray, target: np.ndarray, paired: np.ndarray) -> dict:
    """Paired comparison of the same faces with and without a voice: ``gained`` counts faces
    judged as ``target`` (the voice's gender) only with the voice, ``lost`` only without it;
    ``p`` is the exact two-sided sign test (McNemar) of gained vs lost."""
    from scipy.stats import binomtest

    ok = paired & (with_voice >= 0) & (without >= 0)
    hit_with, hit_without = (with_voice == target) & ok, (without == target) & ok
    gained, lost = int((hit_with & ~hit_without).sum()), int((hit_without & ~hit_with).sum())
    p = binomtest(gained, gained + lost).pvalue if gained + lost else 1.0
    return {"gained": gained, "lost": lost, "p": float(p)}


def swap_test(read: dict, scores: dict) -> dict:
    """How often the judged gender follows the voice: other-gender voice vs own voice vs none."""
    gender = read["gender"]
    partners = swap_partners(gender)
    paired = partners >= 0
    result = {"pairs": int(paired.sum()), "paper": {"share": 0.2941, "pairs": 18864}}
    for swap_key, own_key in (("swap_f", "f"), ("swap_f3", "f3")):
        if swap_key not in scores:
            continue
        entry = {}
        for judge in ("C_g", "pretrained"):
            if scores[swap_key][judge].max() < 0:
                continue
            other = 1 - gender

            def share(pred, target):
                ok = paired & (pred >= 0)
                return float(np.mean(pred[ok] == target[ok])) if ok.any() else None

            entry[judge] = {
                "other_voice_vs_no_voice": voice_effect(scores[swap_key][judge], scores["el"][judge], other, paired)
                if "el" in scores else None,
                "other_voice_follows_voice": share(scores[swap_key][judge], other),
                "other_voice_matches_face": share(scores[swap_key][judge], gender),
                "own_voice_follows_voice": share(scores[own_key][judge], gender) if own_key in scores else None,
                "no_voice_other_gender": share(scores["el"][judge], other) if "el" in scores else None,
            }
        result[swap_key] = entry
    return result


def evaluate(data: Path, weights: Path | None, runs: Path | None, out: Path, split: str = "test",
             limit: int | None = None, device: str = "auto", batch: int = 32, identity_limit: int | None = None,
             progress=None) -> dict:
    """Evaluate a model; writes out/report.md, out/report.json and the figure PNGs. Returns the report.
    ``progress(task, done, total)`` as the samples are read and judged (none by default)."""
    from vidsr.data.shards import open_set
    from vidsr.eval.figures import write_figures
    from vidsr.eval.report import write_report
    from vidsr.devices import pick_device

    t0 = time.time()
    data, out = Path(data), Path(out)
    weights, runs = (Path(weights) if weights else None), (Path(runs) if runs else None)
    meta = open_set(data)
    if limit is not None and limit < 1:
        raise VidsrError("--limit must be at least 1")
    if identity_limit is not None and identity_limit < 0:
        raise VidsrError("--identity-limit must be at least 0")
    dev = pick_device(device)
    bank = load_networks_for_eval(weights, runs, dev)
    missing = {k: v for k, v in available(bank).items() if v}
    rows = [k for k in ROWS if k not in missing]
    judges: dict = {}
    notes = {}
    pre = J.pretrained_gender()
    if isinstance(pre, str):
        notes["pretrained"] = pre
    else:
        judges["pretrained"] = pre
    emb = J.face_embedder()
    if isinstance(emb, str):
        notes["embedder"] = emb
        if "E_h" in bank.nets:
            judges["embedder"] = J.CodeEmbedder(bank["E_h"])
    else:
        judges["embedder"] = emb
    progress = progress or _no_progress
    read = read_split(bank, Path(data), split, limit, batch, dev, progress)
    n = read["n"]
    if identity_limit is not None and identity_limit < n:
        identity_idx = np.sort(np.random.default_rng(SEED).choice(n, identity_limit, replace=False))
    else:
        identity_idx = np.arange(n)
    t1 = time.time()
    scores = judge_all(bank, read, rows, judges, identity_idx, batch, dev, progress)
    # The gallery for identity retrieval is every high-res face, not only the queried ones.
    if "embedder" in judges and "hr" in scores and len(identity_idx):
        rest = np.setdiff1d(np.arange(n), identity_idx)
        for s in range(0, len(rest), batch):
            idx = rest[s:s + batch]
            for i, e in zip(idx, judges["embedder"].embed(_to_float(read["faces"][idx], dev))):
                scores["hr"]["emb"][int(i)] = e
    t2 = time.time()
    table = summarise(bank, read, scores, missing, judges.get("embedder"), identity_idx)
    report = {
        "data": str(data), "split": split, "samples": n, "identities": int(len(np.unique(read["identity"]))),
        "set_source": meta.get("source", ""), "preset": bank.preset.name,
        "resolution": bank.preset.resolution, "lowres": bank.preset.lr_size,
        "weights": str(weights) if weights else None, "runs": str(runs) if runs else None,
        "sources": bank.sources, "missing_networks": bank.missing,
        "judges": {
            "C_g": bank.sources.get("C_g") or f"missing: {bank.missing.get('C_g')}",
            "C_i": bank.sources.get("C_i") or f"missing: {bank.missing.get('C_i')}",
            "pretrained_gender": judges["pretrained"].label if "pretrained" in judges else notes.get("pretrained"),
            "identity_embedder": judges["embedder"].label if "embedder" in judges else
            f"{notes.get('embedder')}; no E_h for the fallback",
            "identity_embedder_note": notes.get("embedder"),
            "identity_queries": int(len(identity_idx)) if "embedder" in judges else 0,
        },
        "classifiers_heldout": bank.classifier_report,
        "rows": table, "table1": list(TABLE1), "table2": list(TABLE2), "swap_rows": list(SWAP),
        "swap": swap_test(read, scores),
        "metrics_note": "PSNR and SSIM on 8-bit RGB in [0,1], 3 channels; SSIM with the 11x11 Gaussian window "
                        "(sigma 1.5), mean over the valid map and the channels",
        "seconds": {"read": round(t1 - t0, 1), "judge": round(t2 - t1, 1)},
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report["figures"] = write_figures(bank, read, out, rows)
    report["seconds"]["total"] = round(time.time() - t0, 1)
    write_report(report, out)
    return report
