"""report.json (every number) and report.md (the paper's tables, for people), written atomically."""

from __future__ import annotations

import json
import math
from pathlib import Path

from vidsr.files import write_text

# The paper's published numbers (Tables 1-2, VoxCeleb2, 8 -> 128 px, VGG-Face judges),
# shown beside ours for reference only: percentages as printed.
PAPER_T1 = {"hr": ("95.25%", "99.53%"), "eh": ("34.31%", "95.60%"), "el": ("11.23%", "91.89%"), "ea": ("10.12%", "95.71%"),
            "f": ("16.99%", "93.92%"), "f3": ("20.96%", "95.03%"), "ffixed": ("11.54%", "92.44%")}
PAPER_T2 = {"bicubic": ("17.93", "0.49", "0.10%", "59.67%"), "lapsrn": ("22.75", "0.64", "5.27%", "83.27%"),
            "f": ("19.15", "0.57", "16.99%", "93.92%"), "f3": ("19.74", "0.57", "20.96%", "95.03%")}


def _clean(x):
    if isinstance(x, float) and not math.isfinite(x):
        return None if math.isnan(x) else ("inf" if x > 0 else "-inf")
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def pct(x) -> str:
    return "—" if x is None else f"{100 * x:.2f}%"


def _acc(entry: dict, group: str, judge: str) -> str:
    v = (entry.get(group) or {}).get(judge)
    return pct(v["accuracy"]) if v else "—"


def _emb(entry: dict, field: str, fmt=pct) -> str:
    v = (entry.get("identity") or {}).get("embedding")
    return fmt(v[field]) if v and v.get(field) is not None else "—"


def _num(x, digits=2) -> str:
    return "—" if x is None else (x if isinstance(x, str) else f"{x:.{digits}f}")


def _missing(entry: dict, columns: int) -> str:
    return f"missing: {entry['missing']}" + " | " * (columns - 1)


def _distance(e: dict) -> str:
    """The mean embedding distance of a row's outputs to their high-res faces, with the share
    under the judge's same-person threshold."""
    dist, same = _emb(e, "distance", lambda v: f"{v:.3f}"), _emb(e, "same_person_share")
    return dist if same == "—" else f"{dist} ({same} < 0.6)"


def table1(r: dict) -> list[str]:
    lines = ["| Ablation | C_g (ours) | pretrained gender | identity rank-1 | embedding distance to high-res (share under dlib's same-person 0.6) | C_i | paper C_i / C_g |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for key in r["table1"]:
        e = r["rows"][key]
        paper = " / ".join(PAPER_T1[key])
        if not e["available"]:
            lines.append(f"| {e['label']} | {_missing(e, 5)} | {paper} |")
            continue
        rank = "— (the gallery itself)" if key == "hr" else _emb(e, "rank1")
        dist = "0 (itself)" if key == "hr" else _distance(e)
        lines.append(f"| {e['label']} | {_acc(e, 'gender', 'C_g')} | {_acc(e, 'gender', 'pretrained')} | {rank} | {dist} | "
                     f"{_acc(e, 'identity', 'C_i')} | {paper} |")
    return lines


def table2(r: dict) -> list[str]:
    factor = f"{r['resolution'] // r['lowres']}x"
    lines = ["| Method | factor | PSNR (dB) | SSIM | identity rank-1 | embedding distance to high-res (share < 0.6) | C_g (ours) | pretrained gender | paper (16x) PSNR / SSIM / C_i / C_g |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in r["table2"]:
        e = r["rows"][key]
        paper = " / ".join(PAPER_T2[key])
        if not e["available"]:
            lines.append(f"| {e['label']} | {factor} | {_missing(e, 6)} | {paper} |")
            continue
        lines.append(f"| {e['label']} | {factor} | {_num(e.get('psnr'))} | {_num(e.get('ssim'), 3)} | {_emb(e, 'rank1')} | {_distance(e)} | "
                     f"{_acc(e, 'gender', 'C_g')} | {_acc(e, 'gender', 'pretrained')} | {paper} |")
    return lines


def swap_table(r: dict) -> list[str]:
    s = r["swap"]
    none = " (no faces of both genders among the evaluated samples: nothing to swap)" if not s["pairs"] else ""
    lines = [f"Pairs: {s['pairs']} faces, each given the voice of a test face of the other gender{none} "
             f"(paper: {pct(s['paper']['share'])} of {s['paper']['pairs']:,} outputs took the voice's gender).", "",
             "| Model | voice given | judged gender = voice's (C_g) | (pretrained) | judged gender = face's (C_g) | (pretrained) |",
             "|---|---|---:|---:|---:|---:|"]
    for key, name in (("swap_f", "F"), ("swap_f3", "F_3")):
        e = r["rows"][key]
        if not e["available"]:
            lines.append(f"| {name} | {_missing(e, 5)} |")
            continue
        res = s.get(key, {})
        g = lambda judge, field: pct(res.get(judge, {}).get(field)) if judge in res else "—"  # noqa: E731
        lines.append(f"| {name} | other gender's | {g('C_g', 'other_voice_follows_voice')} | "
                     f"{g('pretrained', 'other_voice_follows_voice')} | {g('C_g', 'other_voice_matches_face')} | "
                     f"{g('pretrained', 'other_voice_matches_face')} |")
        lines.append(f"| {name} | own | {g('C_g', 'own_voice_follows_voice')} | {g('pretrained', 'own_voice_follows_voice')} | "
                     f"{g('C_g', 'own_voice_follows_voice')} | {g('pretrained', 'own_voice_follows_voice')} |")
    res = next((s[k] for k in ("swap_f", "swap_f3") if k in s), None)
    if res is not None:
        g = lambda judge: pct(res[judge]["no_voice_other_gender"]) if judge in res else "—"  # noqa: E731
        lines.append(f"| E_l only | none: share judged as the other gender | {g('C_g')} | {g('pretrained')} | — | — |")
    for key, name in (("swap_f", "F"), ("swap_f3", "F_3")):
        for judge, judged_by in (("C_g", "C_g"), ("pretrained", "the pretrained judge")):
            e = s.get(key, {}).get(judge, {}).get("other_voice_vs_no_voice")
            if e:
                lines += ["", f"{name}, judged by {judged_by}: {e['gained']} faces take the voice's gender only with "
                          f"the voice, {e['lost']} only without it (sign test p = {e['p']:.2g})."]
    return lines


def markdown(r: dict) -> str:
    j = r["judges"]
    held = r.get("classifiers_heldout") or {}
    cg = held.get("C_g", {})
    lines = [
        "# vidsr evaluation", "",
        f"Set `{r['data']}`, split `{r['split']}`: {r['samples']} samples of {r['identities']} identities. "
        f"Model preset `{r['preset']}` ({r['lowres']}x{r['lowres']} -> {r['resolution']}x{r['resolution']}).", "",
        "Judges:",
        f"- C_g (our gender CNN): {j['C_g']}" + (f"; held-out accuracy {pct(cg.get('accuracy'))} on {cg.get('samples')} "
                                                f"{held.get('split')} faces" if cg.get("accuracy") is not None else ""),
        f"- C_i (our identity classifier): {j['C_i']}",
        f"- pretrained gender judge: {j['pretrained_gender']}",
        f"- identity: {j['identity_embedder']}" + (f" ({j['identity_queries']} queried samples)" if j["identity_queries"] else ""),
        "- identity rank-1: the output's nearest high-res test face (among all distinct ones) is of its identity.",
        f"- {r['metrics_note']}.", "",
        "## Table 1: ablations", "", *table1(r), "",
        "## Table 2: comparison with conventional super-resolution", "", *table2(r), "",
        "## Audio swap", "", *swap_table(r), "",
        "## Figures", "",
    ]
    for name, fig in r["figures"].items():
        lines.append(f"![{name}]({fig})" if fig.endswith(".png") else f"- {name}: not drawn ({fig})")
        lines.append("")
    lines += ["## Networks", "", "| network | source |", "|---|---|"]
    lines += [f"| {k} | `{v}` |" for k, v in sorted(r["sources"].items())]
    lines += [f"| {k} | missing: {v} |" for k, v in sorted(r["missing_networks"].items()) if k not in r["sources"]]
    t = r["seconds"]
    lines += ["", f"Time: reading {t['read']} s, generating and judging {t['judge']} s, total {t['total']} s.", ""]
    return "\n".join(lines)


def write_report(report: dict, out: Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clean = _clean(report)
    write_text(out / "report.json", json.dumps(clean, indent=2))
    write_text(out / "report.md", markdown(clean))
