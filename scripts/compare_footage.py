"""Paired per-clip differences between real-footage reports (`vidsr evaluate --footage ... -o OUT`).

    python scripts/compare_footage.py vN=docs/footage-default/report.json vP=OUT/report.json
    python scripts/compare_footage.py vN=a/report.json,b/report.json vP=c/report.json,d/report.json

Several reports joined by commas are pooled: their clips (different people in each) count as one set.

Frames of one clip are not independent, so the unit is the clip: for each pair of reports and
each condition (bicubic from the 8x8 input, bicubic from the face's own pixels: "native", no
voice, own voice, other voice) the mean over the clips both reports judged of the difference of
the clip's mean identity distance to the original, with its standard error; and each report's
outputs against its two bicubics. Negative = nearer the person.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
from pathlib import Path

CONDITIONS = ["bicubic", "native", "none", "own", "other"]  # native: bicubic from the face's own pixels


def distances(path: Path) -> dict[str, dict[str, float]]:
    """clip -> condition -> mean identity distance, for the clips the report judged."""
    report = json.loads(path.read_text())
    clips = {c["clip"]: {k: v for k, v in (c["scores"].get("distance") or {}).items() if v is not None}
             for c in report["clips"]}
    return {clip: d for clip, d in clips.items() if d}  # a clip where no frame was judged has none


def pooled(paths: str) -> dict[str, dict[str, float]]:
    """The clips of comma-separated reports as one set (a clip judged twice is an error)."""
    clips: dict[str, dict[str, float]] = {}
    for path in paths.split(","):
        these = distances(Path(path))
        if twice := sorted(set(these) & set(clips)):
            raise SystemExit(f"error: {path} judges clips already pooled ({', '.join(twice[:3])})")
        clips.update(these)
    return clips


def mean_and_error(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return statistics.fmean(values), float("nan")
    return statistics.fmean(values), statistics.stdev(values) / math.sqrt(len(values))


def paired(a: dict, b: dict, cond_a: str, cond_b: str) -> tuple[float, float, int]:
    """Mean and standard error over the shared clips of b[cond_b] - a[cond_a]."""
    clips = [c for c in a if c in b and cond_a in a[c] and cond_b in b[c]]
    if not clips:  # a condition the reports do not have (native: reports before it)
        return float("nan"), float("nan"), 0
    mean, err = mean_and_error([b[c][cond_b] - a[c][cond_a] for c in clips])
    return mean, err, len(clips)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", metavar="NAME=REPORT.json[,REPORT.json...]")
    args = ap.parse_args()
    named = [r.split("=", 1) if "=" in r else (Path(r).parent.name, r) for r in args.reports]
    loaded = {name: pooled(paths) for name, paths in named}
    names = list(loaded)
    print("| difference of the mean identity distance per clip | " + " | ".join(CONDITIONS) + " |")
    print("|---|" + "---:|" * len(CONDITIONS))
    for name in names:
        for base in ("bicubic", "native"):
            cells = []
            for cond in CONDITIONS:
                mean, err, n = paired(loaded[name], loaded[name], base, cond)
                cells.append(f"{mean:+.3f} +- {err:.3f} ({n})" if n and cond != base else "")
            if any(cells):
                print(f"| {name} - its {base} | " + " | ".join(cells) + " |")
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            cells = []
            for cond in CONDITIONS:
                mean, err, n = paired(loaded[first], loaded[second], cond, cond)
                cells.append(f"{mean:+.3f} +- {err:.3f} ({n})" if n else "—")
            print(f"| {second} - {first} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
