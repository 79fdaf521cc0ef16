"""Paired per-clip differences between real-footage reports (`vidsr evaluate --footage ... -o OUT`):
what `vidsr evaluate --compare A=REPORT.json B=REPORT.json` prints.

Several reports joined by commas are pooled: their clips (different people in each) count as one
set. Frames of one clip are not independent, so the unit is the clip: for each pair of reports
and each condition (bicubic from the 8x8 input, bicubic from the face's own pixels: "native", no
voice, own voice, other voice) the mean over the clips both reports judged of the difference of
the clip's mean identity distance to the original, with its standard error; and each report's
outputs against its two bicubics. Negative = nearer the person.
"""

from __future__ import annotations

import json
import math
import statistics
from pathlib import Path

from vidsr.errors import VidsrError

CONDITIONS = ("bicubic", "native", "none", "own", "other")  # native: bicubic from the face's own pixels


def distances(path: str | Path) -> dict[str, dict[str, float]]:
    """clip -> condition -> mean identity distance, for the clips the report judged."""
    try:
        report = json.loads(Path(path).read_text(encoding="utf-8"))
        clips = {c["clip"]: {k: v for k, v in (c["scores"].get("distance") or {}).items() if v is not None}
                 for c in report["clips"]}
    except OSError as e:
        raise VidsrError(f"cannot read '{path}': {e.strerror or e}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise VidsrError(f"'{path}' is not a real-footage report (vidsr evaluate --footage / --lfw)") from None
    return {clip: d for clip, d in clips.items() if d}  # a clip where no frame was judged has none


def pooled(paths: str) -> dict[str, dict[str, float]]:
    """The clips of comma-separated reports as one set (a clip judged twice is an error)."""
    clips: dict[str, dict[str, float]] = {}
    for path in paths.split(","):
        these = distances(path)
        if twice := sorted(set(these) & set(clips)):
            raise VidsrError(f"{path} judges clips already pooled ({', '.join(twice[:3])})")
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


def named_reports(items: list[str]) -> list[tuple[str, str]]:
    """"NAME=REPORT.json[,REPORT.json...]" (or a bare path: named by its folder) -> (name, paths)."""
    return [tuple(r.split("=", 1)) if "=" in r else (Path(r).parent.name, r) for r in items]


def compare_table(items: list[str]) -> str:
    """The Markdown table of paired differences for ``items`` (see the module's doc)."""
    loaded = {name: pooled(paths) for name, paths in named_reports(items)}
    names = list(loaded)
    lines = ["| difference of the mean identity distance per clip | " + " | ".join(CONDITIONS) + " |",
             "|---|" + "---:|" * len(CONDITIONS)]
    for name in names:
        for base in ("bicubic", "native"):
            cells = []
            for cond in CONDITIONS:
                mean, err, n = paired(loaded[name], loaded[name], base, cond)
                cells.append(f"{mean:+.3f} +- {err:.3f} ({n})" if n and cond != base else "")
            if any(cells):
                lines.append(f"| {name} - its {base} | " + " | ".join(cells) + " |")
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            cells = []
            for cond in CONDITIONS:
                mean, err, n = paired(loaded[first], loaded[second], cond, cond)
                cells.append(f"{mean:+.3f} +- {err:.3f} ({n})" if n else "—")
            lines.append(f"| {second} - {first} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
