"""What ``vidsr prepare`` made: :class:`Tally` counts samples per split, gender, age group,
source and voice, and skips; its summary as table rows (:func:`summary_tables`), lines and Markdown."""

from __future__ import annotations

from collections import Counter, defaultdict

from vidsr.data.real_voices import age_group
from vidsr.data.splits import SPLITS

GENDER_NAMES = {0: "male", 1: "female", -1: "unknown"}
AGE_NAMES = ("child", "adult", "age unknown")


def _age_name(age: int | None) -> str:
    return "age unknown" if age is None or age < 0 else age_group(age)


class Tally:
    """Counts samples per split, gender, age group, source and voice; identities and
    speakers per split; what each source gave; skips and notes by source and reason."""

    def __init__(self) -> None:
        self.samples: Counter = Counter()  # (split, gender or age-group name) -> n
        self.by_source: Counter = Counter()  # (source, split) -> n
        self.by_voice: Counter = Counter()  # (voice kind, split) -> n
        self.identities: dict[str, set] = defaultdict(set)
        self.speakers: dict[str, set] = defaultdict(set)
        self.read: Counter = Counter()  # source -> photos or clips listed
        self.skipped: Counter = Counter()  # (source, reason) -> n
        self.notes: Counter = Counter()  # (source, note) -> n

    def add(self, split: str, identity: str, gender: int, age: int = -1, source: str = "",
            voice: str = "", speaker: str | None = None) -> None:
        self.samples[split, GENDER_NAMES.get(gender, "unknown")] += 1
        self.samples[split, _age_name(age)] += 1
        self.by_source[source, split] += 1
        self.by_voice[voice, split] += 1
        self.identities[split].add(identity)
        if speaker is not None:
            self.speakers[split].add(speaker)

    def skip(self, reason: str, n: int = 1, source: str = "") -> None:
        self.skipped[source, reason] += n

    def note(self, note: str, n: int = 1, source: str = "") -> None:
        self.notes[source, note] += n

    def summary(self, **extra) -> dict:
        splits = {}
        for s in SPLITS:
            by_gender = {g: self.samples[s, g] for g in GENDER_NAMES.values()}
            by_age = {a: self.samples[s, a] for a in AGE_NAMES}
            splits[s] = {"samples": sum(by_gender.values()), "identities": len(self.identities[s]), **by_gender, **by_age,
                         "speakers": len(self.speakers[s])}
        train = self.identities["d1"] | self.identities["d2"]
        train_speakers = self.speakers["d1"] | self.speakers["d2"]
        sources = sorted(set(self.read) | {k[0] for k in self.by_source} | {k[0] for k in self.skipped})
        skipped = Counter()
        for (_, reason), n in self.skipped.items():
            skipped[reason] += n
        return {
            "splits": splits,
            "samples": sum(v["samples"] for v in splits.values()),
            "identities": {
                "train": len(train),
                "in_both_d1_d2": len(self.identities["d1"] & self.identities["d2"]),
                "test": len(self.identities["test"]),
            },
            "speakers": {"train": len(train_speakers), "test": len(self.speakers["test"]),
                         "in_train_and_test": len(train_speakers & self.speakers["test"])},
            "sources": {src: {"read": self.read[src], **{s: self.by_source[src, s] for s in SPLITS},
                              "skipped": sum(n for (so, _), n in self.skipped.items() if so == src)} for src in sources},
            "voices": {kind: {s: self.by_voice[kind, s] for s in SPLITS} for kind in sorted({k[0] for k in self.by_voice})},
            "skipped": dict(sorted(skipped.items())),
            "skipped_by_source": [[src, reason, n] for (src, reason), n in sorted(self.skipped.items())],
            "notes": [[src, note, n] for (src, note), n in sorted(self.notes.items())],
            **extra,
        }


def summary_tables(summary: dict) -> list[tuple[str, list[str], list[list]]]:
    """The summary's tables as (title, columns, rows): one source for summary.md and the console."""
    cols = ["split", "samples", "identities", "male", "female", "unknown", *AGE_NAMES, "speakers"]
    tables = [("samples per split", cols, [[s, *(v[c] for c in cols[1:])] for s, v in summary["splits"].items()])]
    if summary.get("sources"):
        cols = ["source", "read", *SPLITS, "skipped"]
        tables.append(("per source (photos or clips read, samples per split)", cols,
                       [[src, *(v[c] for c in cols[1:])] for src, v in summary["sources"].items()]))
    if summary.get("voices"):
        tables.append(("samples per voice", ["voice", *SPLITS], [[k, *(v[s] for s in SPLITS)] for k, v in summary["voices"].items()]))
    if summary.get("skipped_by_source"):
        tables.append(("skipped", ["source", "reason", "count"], summary["skipped_by_source"]))
    if summary.get("notes"):
        tables.append(("notes", ["source", "note", "count"], summary["notes"]))
    return tables


def summary_lines(summary: dict) -> list[str]:
    ids, lines = summary["identities"], []
    lines.append(f"Training identities: {ids['train']} ({ids['in_both_d1_d2']} in both D1 and D2); test identities: {ids['test']}.")
    sp = summary.get("speakers")
    if sp and (sp["train"] or sp["test"]):
        lines.append(f"Voices: {sp['train']} training speakers, {sp['test']} test speakers, {sp['in_train_and_test']} in both.")
    if not summary["skipped"]:
        lines.append("Nothing was skipped.")
    return lines


def summary_markdown(summary: dict, title: str) -> str:
    """The summary as a small Markdown document (summary.md)."""
    out = [f"# {title}", ""]
    for name, cols, rows in summary_tables(summary):
        align = ["---:" if i and all(isinstance(r[i], int) for r in rows) else "---" for i in range(len(cols))]
        out += [f"{name}:", "", "| " + " | ".join(cols) + " |", "|" + "|".join(align) + "|"]
        out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]
    out += summary_lines(summary) + [""]
    out += ["Settings:", ""] + [f"- {k}: {v}" for k, v in summary.get("settings", {}).items()]
    out += ["", f"Wall time: {summary.get('seconds', 0):.0f} s", ""]
    return "\n".join(out)
