"""Measure G as it trains: realism and diversity per generator checkpoint, as a table and a plot.

    python research/scripts/generator_quality.py --data /work/prepared/all --out research/generator \
        CHECKPOINT_OR_WEIGHTS.safetensors [...]

Each file is a generator checkpoint (``runs/.../generator/checkpoints/weights-STEP.safetensors``,
whose G_ema is judged) or a stage's ``weights.safetensors``. Real faces: the unique faces of the
set's held-out test split. Rows go to ``OUT/quality.jsonl`` (one per images-seen figure, a
re-measured checkpoint replaces its row), then ``quality.md`` and ``quality.png`` are redrawn
from all rows, and ``samples-NNNNk.png`` shows 36 samples of each checkpoint (seed 0).
Needs the optional judges: ``pip install -e ".[eval]"``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from rich.progress import Progress

from vidsr.data.images import load_face_images
from vidsr.eval.generator import Judges, generator_quality, generator_samples
from vidsr.files import write_text
from vidsr.imaging import grid, save_png
from vidsr.models.generator import Generator
from vidsr.models.io import load_networks, networks_in, read_metadata, read_preset

GRID = 36


def load_g(path: Path) -> tuple[Generator, int]:
    """G_ema (checkpoint) or G (weights) of `path`, and the step it was saved at."""
    name = "G_ema" if "G_ema" in networks_in(path) else "G"
    G = Generator(read_preset(path))
    load_networks(path, {name: G})
    return G.eval(), int(read_metadata(path)["step"])


def batch_of(path: Path) -> int:
    """Images per step of the run the file belongs to (its options.json)."""
    for folder in (path.parent, path.parent.parent):
        if (folder / "options.json").exists():
            opts = json.loads((folder / "options.json").read_text())
            return int(opts["options"]["batch"]) * int(opts.get("world_size", 1))
    raise SystemExit(f"no options.json beside {path}: cannot tell the images seen")


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def table(rows: list[dict]) -> str:
    lines = ["# G as it trains", "",
             f"Fréchet distance (FD) of dlib face descriptors of {rows[-1]['n']:,} G_ema samples (truncation off) "
             "to those of the real held-out faces "
             "(lower is better); share of samples in which dlib's HOG detector finds a face; share whose gender "
             "the pretrained gender CNN reads with >= 90 % confidence; share it calls male. "
             "Made by `research/scripts/generator_quality.py`.", "",
             "| images seen | step | FD | face found | gender confident | male |", "|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['images']:,} | {r['step']:,} | {r['fd']:.4f} | {r['face_share']:.1%} | "
                     f"{r['gender_confident']:.1%} | {r['male_share']:.1%} |")
    real = rows[-1]["real"]
    lines.append(f"| real faces ({real['n']:,}) | | 0 | {real['face_share']:.1%} | {real['gender_confident']:.1%} | "
                 f"{real['male_share']:.1%} |")
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["images"] / 1000 for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(x, [r["fd"] for r in rows], "o-")
    a.set(xlabel="images seen (thousands)", ylabel="FD of dlib descriptors", title="realism + diversity (lower is better)")
    for key, label in (("face_share", "face found"), ("gender_confident", "gender confident"), ("male_share", "male")):
        line, = b.plot(x, [r[key] for r in rows], "o-", label=label)
        b.axhline(rows[-1]["real"][key], color=line.get_color(), ls=":", lw=1)
    b.set(xlabel="images seen (thousands)", ylabel="share of samples", ylim=(0, 1), title="dotted: real faces")
    b.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", type=Path)
    ap.add_argument("--data", required=True, type=Path, help="prepared set whose test split gives the real faces")
    ap.add_argument("--out", type=Path, default=Path("research/generator"))
    ap.add_argument("-n", type=int, default=2000, help="samples per checkpoint")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    judges = Judges()
    Gs = [(p, *load_g(p)) for p in args.files]
    size = Gs[0][1].resolution
    reals = load_face_images(args.data, size, splits=("test",)).float().div(127.5).sub(1)
    with Progress() as progress:
        task = progress.add_task("judging", total=len(reals) + args.n * len(Gs))
        real_stats = judges(reals, progress=lambda: progress.advance(task))
        rows = {r["images"]: r for r in read_rows(args.out / "quality.jsonl")}
        for path, G, step in Gs:
            samples = generator_samples(G, args.n)
            images = step * batch_of(path)
            rows[images] = {"images": images, "step": step,
                            **generator_quality(judges(samples, progress=lambda: progress.advance(task)), real_stats)}
            save_png(args.out / f"samples-{images // 1000:04d}k.png", grid(samples[:GRID], 6))
            print(json.dumps({k: v for k, v in rows[images].items() if k != "real"}))
    ordered = [rows[k] for k in sorted(rows)]
    write_text(args.out / "quality.jsonl", "".join(json.dumps(r) + "\n" for r in ordered))
    write_text(args.out / "quality.md", table(ordered))
    plot(ordered, args.out / "quality.png")


if __name__ == "__main__":
    main()
