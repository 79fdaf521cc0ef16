"""The real-footage evaluation's outputs (:mod:`vidsr.eval.footage`): the judged frames
summed up (gender right, balanced over the genders, identity distance, how often a voice
of the other gender turns the face), report.json, report.md and one PNG strip per track
[8x8 input | bicubic | no voice | own voice | other voice | original]."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vidsr.eval.footage import CONDITIONS, GENDER_NAMES, GRID_CREDIT, LFW_CREDIT, VOICE_CREDIT
from vidsr.pipeline.drawing import DEFAULT
from vidsr.files import write_json, write_text

LABELS = {
    "original": "the original face (full resolution, same crop)",
    "bicubic": "bicubic from the pipeline's 8x8 input",
    "native": "bicubic from the face's own pixels (its crop at its own size)",
    "none": "vidsr, no voice (E_l only)",
    "own": "vidsr, own voice",
    "other": "vidsr, a voice of the other gender",
}
GROUPS = {"footage": "talking-face videos (--footage)", "lfw": "LFW test people (photos with real voices)"}
STRIP_LABELS = ["8x8 input", "bicubic", "no voice", "own voice", "other voice", "original"]
STRIP_ROWS = 3


def _mean(values) -> float | None:
    values = list(values)
    return float(np.mean(values)) if values else None


def summarise(frames: list[dict]) -> dict:
    """Scores of judged frames: per condition the share with the right gender (plain and
    balanced: the mean of the per-gender shares), the mean descriptor distance to the
    original and the share under the same-person threshold; and the voice's effect."""
    from vidsr.eval.run import voice_effect

    out = {"frames": len(frames), "clips": len({f["clip"] for f in frames}),
           "frames_by_gender": {GENDER_NAMES[g]: sum(f["gender"] == g for f in frames) for g in (0, 1)}}
    for cond in CONDITIONS:
        known = [f for f in frames if f["gender"] >= 0 and cond in f["judged"]]
        per_gender = {GENDER_NAMES[g]: _mean(f["judged"][cond] == g for f in known if f["gender"] == g) for g in (0, 1)}
        entry = {"n": len(known), "gender_right": _mean(f["judged"][cond] == f["gender"] for f in known),
                 "per_gender": per_gender,
                 "judged_female": _mean(f["judged"][cond] == 1 for f in frames if f["judged"].get(cond, -1) >= 0),
                 "balanced": _mean(per_gender.values()) if None not in per_gender.values() else None}
        if cond != "original":
            d = [f["distance"][cond] for f in frames if cond in f["distance"]]
            entry.update(distance=_mean(d), same_person=_mean(x < 0.6 for x in d), distance_n=len(d))
        found = [f["rank1"][cond] for f in frames if cond in f.get("rank1", {})]
        entry.update(rank1=_mean(found), rank1_n=len(found))
        out[cond] = entry
    paired = [f for f in frames if f["gender"] >= 0 and "other" in f["judged"]]
    if paired:
        gender = np.array([f["gender"] for f in paired])
        judged = {c: np.array([f["judged"][c] for f in paired]) for c in ("none", "own", "other")}
        ok = np.ones(len(paired), bool)
        out["voice"] = {
            "frames": len(paired),
            "other_takes_voice": float(np.mean(judged["other"] == 1 - gender)),
            "none_takes_other": float(np.mean(judged["none"] == 1 - gender)),
            # By the voice's gender: a judge that calls most blurred faces women makes a woman's
            # voice look followed and a man's voice look ignored.
            "by_voice": {GENDER_NAMES[1 - g]: {
                "frames": int((gender == g).sum()),
                "other_takes_voice": _mean(judged["other"][gender == g] == 1 - g),
                "none_takes_other": _mean(judged["none"][gender == g] == 1 - g)} for g in (0, 1)},
            "other_vs_none": voice_effect(judged["other"], judged["none"], 1 - gender, ok),
            "own_vs_none": voice_effect(judged["own"], judged["none"], gender, ok),
        }
    return out


def _pct(x) -> str:
    return "—" if x is None else f"{100 * x:.1f} %"


def _dist(entry: dict) -> str:
    if entry.get("distance") is None:
        return "—"
    return f"{entry['distance']:.3f} ({_pct(entry['same_person'])} < 0.6)"


def table(summary: dict, gallery: dict | None = None) -> list[str]:
    """The summary as a Markdown table (and the voice's effect below it); a column of
    identity rank-1 where frames were looked up in the ``gallery`` (the settings' record)."""
    ranked = any(summary[c].get("rank1_n") for c in CONDITIONS)
    lines = ["| | gender right | balanced (mean of male, female) | male | female | judged female | identity distance "
             "to the original (share < 0.6 = same person) |" + (" identity rank-1 against a different photo |" if ranked else ""),
             "|---|---:|---:|---:|---:|---:|---:|" + ("---:|" if ranked else "")]
    for cond in CONDITIONS:
        e = summary[cond]
        if not e["n"] and not e.get("distance_n"):
            continue
        dist = "0 (itself)" if cond == "original" else _dist(e)
        lines.append(f"| {LABELS[cond]} | {_pct(e['gender_right'])} | {_pct(e['balanced'])} | "
                     f"{_pct(e['per_gender']['male'])} | {_pct(e['per_gender']['female'])} | {_pct(e['judged_female'])} | {dist} |"
                     + (f" {_pct(e.get('rank1'))} |" if ranked else ""))
    if ranked:
        n = max(summary[c].get("rank1_n", 0) for c in CONDITIONS)
        people = f"{gallery['people']} LFW test people" if gallery else "the LFW test people"
        lines += ["", f"Rank-1: {n} frames of the people that have another photo, each looked up among {people}, "
                  "each by a photo no clip shows (the nearest dlib descriptor must be the same person's; chance is "
                  f"{_pct(1 / gallery['people']) if gallery and gallery['people'] else '—'})."]
    v = summary.get("voice")
    if v:
        o, w = v["other_vs_none"], v["own_vs_none"]
        lines += ["", f"Given a voice of the other gender, **{_pct(v['other_takes_voice'])}** of the outputs take that "
                  f"voice's gender, against {_pct(v['none_takes_other'])} with no voice ({v['frames']} frames; "
                  f"{o['gained']} frames take it only with the voice, {o['lost']} only without it, sign test "
                  f"p = {o['p']:.2g}). "
                  + " ".join(f"A {'man' if voice == 'male' else 'woman'}'s voice: {_pct(b['other_takes_voice'])} of "
                             f"the {'women' if voice == 'male' else 'men'}'s faces take its gender "
                             f"({_pct(b['none_takes_other'])} with no voice, {b['frames']} frames)."
                             for voice, b in v["by_voice"].items() if b["frames"])
                  + f" With its own voice {w['gained']} frames get the right gender that do not "
                  f"without a voice, {w['lost']} lose it (p = {w['p']:.2g}). Frames of one clip are not "
                  "independent: read the p-values as a guide."]
    return lines


def _clip_scores(row: dict, frames: list[dict]) -> dict:
    mine = [f for f in frames if f["clip"] == row["clip"]]
    right = {c: _mean(f["judged"][c] == f["gender"] for f in mine if c in f["judged"] and f["gender"] >= 0)
             for c in CONDITIONS}
    dist = {c: _mean(f["distance"][c] for f in mine if c in f["distance"]) for c in CONDITIONS if c != "original"}
    return {"gender_right": right, "distance": dist}


def clip_table(rows: list[dict]) -> list[str]:
    name = {c: "bicubic from its pixels" if c == "native" else c for c in CONDITIONS}
    lines = [f"| clip | gender | face px | frames judged | gender right: {' / '.join(name[c] for c in CONDITIONS)} | "
             f"distance: {' / '.join(name[c] for c in CONDITIONS[1:])} | other voice |", "|---|---|---:|---:|---|---|---|"]
    for r in rows:
        s = r["scores"]
        right = " / ".join("—" if s["gender_right"][c] is None else f"{100 * s['gender_right'][c]:.0f}"
                           for c in CONDITIONS)
        dist = " / ".join("—" if s["distance"][c] is None else f"{s['distance'][c]:.2f}" for c in CONDITIONS[1:])
        px = "—" if r["face_px"] is None else f"{r['face_px']:.1f}"
        lines.append(f"| {r['clip']} | {r['gender'] or '?'} | {px} | {r['frames_judged']} | {right} | {dist} | "
                     f"{r['other_voice'] or '—'} |")
    return lines


def command(report: dict) -> str:
    """The command line that makes this report (its output folder aside)."""
    s = report["settings"]
    footage = s.get("footage") or [f"{r['source']}:{r['gender']}" if r["gender"] else r["source"]
                                   for r in report["clips"] + report["failed"] if r.get("group", "footage") == "footage"
                                   and not r["clip"].startswith("lfw-")]
    parts = ["vidsr evaluate", *(f"--footage {f}" for f in footage)]
    if s.get("lfw"):
        parts += [f"--lfw {s['lfw']}", f"--voices {s['voices']}", f"--limit {s['lfw_limit']}"]
        if s.get("lfw_skip"):
            parts.append(f"--lfw-skip {s['lfw_skip']}")
    elif s.get("voices"):
        parts.append(f"--voices {s['voices']}")
    parts += [f"--face-px {s['face_px']:g}", f"--weights {s['weights']}"]
    drawn = {k: getattr(DEFAULT, k) for k in ("back_project", "frames", "refine", "smooth", "detail")}
    defaults = {"every": 8, "seconds": 3.0, "crop_scale": 1.2, **drawn}  # the pipeline's options: absent from older reports
    parts += [f"--{k.replace('_', '-')} {s[k]:g}" for k, v in defaults.items() if s.get(k, v) != v]
    if tuple(s["frame"]) != (640, 360):
        parts.append(f"--frame {s['frame'][0]}x{s['frame'][1]}")
    return " ".join(parts)


def _smoothing(settings: dict) -> str:
    """The smoothing of the codes along each track, for the report's description (reports
    written before it was an option ran with the pipeline's default)."""
    seconds = settings.get("smooth", DEFAULT.smooth)
    return f"the codes averaged along the track over {seconds:g} s" if seconds else "no smoothing along the track"


def _back_projection(settings: dict) -> str:
    """The refinement and back-projection the pipeline ran with, for the report's description."""
    strength, frames, steps = settings.get("back_project"), settings.get("frames"), settings.get("refine")
    refined = f", styles refined toward the input for {steps} steps" if steps else ""
    if strength is None:  # a report from before the option
        return refined
    if strength == 0:
        return refined + (", no back-projection" if steps else ", no back-projection (the paper's G(z))")
    detail = settings.get("detail", 1)
    kept = f", keeping {detail:.0%} of G's detail" if detail != 1 else ""
    onto = "the face's own pixels" if settings.get("own_pixels") else "the 8x8 input"  # absent: before the option
    return f"{refined}, back-projection onto {onto} at strength {strength:g} over {frames} frames{kept}"


def markdown(report: dict) -> str:
    s = report["settings"]
    lines = [
        "# Real-footage evaluation", "",
        f"Model `{s['weights']}` (preset {s['preset']}, {s['lowres']}x{s['lowres']} -> {s['resolution']}x{s['resolution']}). "
        f"Each face shrunk to **{s['face_px']:g} px** wide (the detector's box) in a {s['frame'][0]}x{s['frame'][1]} "
        f"grey frame, {s['seconds']:g} s clips encoded as H.264 by ffmpeg, then the whole pipeline as `vidsr enhance` runs "
        f"it (detection, tracking, the crop at {s['crop_scale']:g}x the box, E_l / E_a / F / G, "
        f"{_smoothing(s)}{_back_projection(s)}): with the clip's own sound, with no sound, and with a voice of the other gender "
        f"(`--audio`). Every "
        f"{s['every']}th frame of each face track is judged against the original face at that moment (cut from the "
        f"source at full resolution with the same crop box) by pretrained judges the model was not trained with: "
        f"gender by {s['judges']['gender']}; identity by the distance between descriptors of the "
        f"{s['judges']['identity']} (< {s['judges']['same_person']} = the same person). The judges see every face "
        f"framed at {s['judged_framing']:g}x the box.", "",
        f"{report['summary']['all']['clips']} clips, {report['summary']['all']['frames']} frames judged "
        f"({report['summary']['all']['frames_by_gender']['male']} of men, "
        f"{report['summary']['all']['frames_by_gender']['female']} of women); {len(report['failed'])} not evaluated; "
        f"{report['seconds']:.0f} s.", "", f"`{command(report)} -o OUT`", "",
        "## All clips", "", *table(report["summary"]["all"], s.get("gallery")),
    ]
    for group, title in GROUPS.items():
        if group in report["summary"]:
            lines += ["", f"## {title[0].upper() + title[1:]}", "", *table(report["summary"][group], s.get("gallery"))]
    lines += ["", "## Per clip", "", "Gender right in % of the clip's judged frames; distance: the mean descriptor "
              "distance to the original.", "", *clip_table(report["clips"])]
    if report["failed"]:
        lines += ["", "## Not evaluated", ""] + [f"- {f['clip']} ({f['source']}): {f['reason']}" for f in report["failed"]]
    if report["strips"]:
        lines += ["", "## Strips", "", "[8x8 input | bicubic | no voice | own voice | other voice | original], "
                  f"up to {STRIP_ROWS} judged frames of a track (rows).", ""]
        lines += [f"![{Path(p).stem}]({p})" for p in report["strips"]]
    voices = s.get("voice_pool")
    lines += ["", "## Sources", ""]
    if any(r["group"] == "footage" and r["credit"] == GRID_CREDIT for r in report["clips"]):
        lines.append(f"- GRID clips: {GRID_CREDIT}.")
    if any(r["group"] == "lfw" for r in report["clips"]):
        lines.append(f"- Faces: {LFW_CREDIT} (Huang et al., UMass TR 07-49, 2007; NIPS 2012); the project's test "
                     "people (vidsr.data.splits.is_test_identity on the person's name), one photo each, alternating "
                     "the genders, those with another photo first; each photo drifts and zooms slightly over the clip.")
    if voices:
        lines.append(f"- Voices: {VOICE_CREDIT}, adult test speakers (the same split rule on the speaker id): "
                     + "; ".join(f"{g}: {', '.join(v) or 'none'}" for g, v in voices.items())
                     + ". Each clip gets its own seeded stretch of speech.")
    return "\n".join(lines) + "\n"


def _wrap(text: str, width: int) -> list[str]:
    """``text`` broken at spaces into lines at most ``width`` px wide (the strips' font)."""
    import cv2

    lines, line = [], ""
    for word in text.split(" "):
        longer = f"{line} {word}" if line else word
        if line and cv2.getTextSize(longer, cv2.FONT_HERSHEY_SIMPLEX, 0.33, 1)[0][0] > width:
            lines.append(line)
            longer = word
        line = longer
    return lines + [line]


def write_strip(path: Path, result: dict) -> None:
    """[8x8 input | bicubic | no voice | own voice | other voice | original] for up to
    STRIP_ROWS judged frames of the clip's first judged track, with a caption."""
    import cv2
    import torch

    from vidsr.files import write_bytes
    from vidsr.imaging import from_uint8, grid, resize

    keys, images, row = result["keys"], result["images"], result["row"]
    track = keys[0][0]
    idx = [i for i, k in enumerate(keys) if k[0] == track]
    idx = [idx[int(j)] for j in np.linspace(0, len(idx) - 1, min(STRIP_ROWS, len(idx))).round()]
    r = images["original"].shape[1]
    tiles = []
    for i in idx:
        tiles.append(resize(result["inputs"][i], r, "nearest"))
        for cond in ("bicubic", "none", "own", "other", "original"):
            tiles.append(images[cond][i] if cond in images else np.full((r, r, 3), 128, np.uint8))
    canvas = grid(torch.stack([from_uint8(t) for t in tiles]), len(STRIP_LABELS))  # tiles at the model's size
    header = np.full((18, canvas.shape[1], 3), 255, np.uint8)
    for c, text in enumerate(STRIP_LABELS):
        (w, _), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.33, 1)
        cv2.putText(header, text, (2 + c * (r + 2) + max(0, (r - w) // 2), 13), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                    (0, 0, 0), 1, cv2.LINE_AA)
    canvas = np.concatenate([header, canvas])
    caption = [f"{row['clip']} ({row['gender'] or 'gender unknown'}), track {track}, face {row['face_px']} px, "
               f"frames {', '.join(str(keys[i][1]) for i in idx)}",
               f"own voice: {row['own_voice']}; other voice: {row['other_voice'] or 'none'}"]
    if row["credit"]:
        caption.append(row["credit"] + (f"; voices: {VOICE_CREDIT}" if row["group"] == "lfw" else ""))
    lines = [chunk for text in caption for chunk in _wrap(text, canvas.shape[1] - 8)]
    band = np.full((13 * len(lines) + 5, canvas.shape[1], 3), 255, np.uint8)
    for j, text in enumerate(lines):
        cv2.putText(band, text, (4, 13 * (j + 1)), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 0), 1, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", cv2.cvtColor(np.concatenate([canvas, band]), cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, 9])  # small enough to keep in docs/
    if not ok:
        raise OSError(f"could not encode {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(path, png.tobytes())


def write_footage_report(out: Path, settings: dict, rows: list[dict], frames: list[dict], failed: list[dict],
                         strip_data: list[dict], seconds: float) -> dict:
    out = Path(out)
    strips = []
    for result in strip_data:
        name = f"strips/{result['row']['clip']}-track-{result['keys'][0][0]}.png"
        write_strip(out / name, result)
        strips.append(name)
    for r in rows:
        r["scores"] = _clip_scores(r, frames)
    summary = {"all": summarise(frames)}
    for group in GROUPS:
        mine = [f for f in frames if f["group"] == group]
        if mine:
            summary[group] = summarise(mine)
    report = {"settings": settings, "summary": summary, "clips": rows, "failed": failed, "strips": strips,
              "seconds": round(seconds, 1), "frames": frames}
    write_json(out / "report.json", report)
    write_text(out / "report.md", markdown(report))
    return report
