"""Give a voice-only F a picture term fitted in closed form (a research tool, no stage of the product).

    python research/scripts/fit_picture_term.py --data SET --runs RUNS --weights VOICE_ONLY.safetensors -o OUT.safetensors

RUNS: the runs folder the model was trained in (its E_h, highres/); the model file gives E_l,
E_a and F. Writes OUT (the same model with F's z_l weights and bias from the ridge fit) and prints
the fit (penalty, validation L1 of eq. (4)'s code term). About 1 min for 19,200 faces on one core.

F's picture term fitted in closed form, for a model whose F hears the voice only.

The paper's F is one linear layer, F(z_l, z_a) = A z_l + B z_a + c. Trained by Adam (2,000 steps,
the fusion stage), its picture term A z_l is a lottery on real footage: two seeds with the same
training losses put the fused faces 0.033 apart in identity distance
(research/candidates, F's seed). Here A and c are instead the ridge regression, over many
degraded training faces, of what is left of E_h's code once E_l's code and the voice term are
taken away:

    E_h(x_h) - z_l - (B z_a + c_v)  ~  A z_l + c        (ridge on A, c unpenalised)

with z_l = E_l(x_in), x_in degraded as real tiny faces are (the fusion stage's inputs,
``clean_share`` 0), and B, c_v, E_a those of the model file (a ``voice_only`` F). The penalty is
chosen on a held-out share of the faces by eq. (4)'s L1 code term. One solve, no seed.

The product's fusion stage can start from its output (option ``fixed_picture``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from rich.progress import Progress
from safetensors import safe_open
from safetensors.torch import load_file

from vidsr.audio.spectrogram import log_spectrogram
from vidsr.errors import VidsrError
from vidsr.models.build import build_network
from vidsr.models.io import atomic_save, load_networks, read_preset
from vidsr.models.presets import get_preset
from vidsr.train.context import TrainContext
from vidsr.train.stages.common import Batches, LowResInputs, trained

LAMBDAS = (1e2, 1e3, 1e4, 1e5, 1e6)  # the ridge penalties tried
VALIDATION_SHARE = 0.2  # of the faces, held out to choose the penalty


def ridge_fit(x: torch.Tensor, y: torch.Tensor, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(A, c) minimising |y - x A^T - c|^2 + lam |A|^2 (float64 solve; c is not penalised)."""
    x, y = x.double(), y.double()
    ones = torch.ones(len(x), 1, dtype=torch.float64)
    xa = torch.cat([x, ones], 1)
    reg = lam * torch.eye(xa.shape[1], dtype=torch.float64)
    reg[-1, -1] = 0.0
    w = torch.linalg.solve(xa.T @ xa + reg, xa.T @ y)
    return w[:-1].T.float(), w[-1].float()


def validation_start(n: int, validation_share: float = VALIDATION_SHARE) -> int:
    """The first of ``n`` rows held out to choose the penalty (the last ``validation_share``)."""
    return int(n * (1 - validation_share))


def choose_lambda(x: torch.Tensor, y: torch.Tensor, lambdas=LAMBDAS,
                  validation_share: float = VALIDATION_SHARE) -> tuple[float, dict[float, float]]:
    """The penalty whose fit on the first rows gives the lowest mean |y - x A^T - c| on the
    last ``validation_share`` of them; and that error for every penalty tried."""
    k = validation_start(len(x), validation_share)
    errors = {}
    for lam in lambdas:
        a, c = ridge_fit(x[:k], y[:k], lam)
        errors[lam] = (y[k:] - x[k:] @ a.T - c).abs().mean().item()
    return min(errors, key=errors.get), errors


def with_picture_term(tensors: dict[str, torch.Tensor], a: torch.Tensor, c: torch.Tensor) -> dict[str, torch.Tensor]:
    """A model file's tensors with F's weights for z_l set to ``a`` and its bias moved by ``c``
    (the voice weights B untouched), each in the dtype it had."""
    w, b = tensors["F.net.0.weight"], tensors["F.net.0.bias"]
    half = w.shape[1] // 2
    if a.shape != (w.shape[0], half) or c.shape != b.shape:
        raise ValueError(f"a picture term of shape {tuple(a.shape)} does not fit F's {tuple(w.shape)}")
    new_w = w.float().clone()
    new_w[:, :half] = a
    return {**tensors, "F.net.0.weight": new_w.to(w.dtype), "F.net.0.bias": (b.float() + c).to(b.dtype)}


@torch.no_grad()
def collect_codes(data: Path, runs: Path, weights: Path, batches: int, batch: int, seed: int,
                  progress=None) -> tuple[torch.Tensor, torch.Tensor]:
    """(z_l, E_h(x_h) - z_l - voice term), flattened, for ``batches`` x ``batch`` degraded d2 faces:
    E_h from ``runs``, E_l, E_a and F's voice term from the model file ``weights``."""
    preset = read_preset(weights)
    own = get_preset(preset.name)
    ctx = TrainContext.create(own, data, runs, "cpu", "fp32", seed, {**own.train["fusion"], "clean_share": 0.0})
    (E_h,) = trained(ctx, "E_h")
    nets = {"E_l": build_network("E_l", preset), "E_a": build_network("E_a", preset), "F": build_network("F", preset)}
    load_networks(weights, nets)
    E_l, E_a, F = (nets[n].eval() for n in ("E_l", "E_a", "F"))
    F.forget_picture()  # F(0, z_a) = B z_a + c_v: the voice term alone
    stream, inputs = Batches(ctx, "d2", batch, with_audio=True), LowResInputs(ctx)
    z_ls, rests = [], []
    for step in range(batches):
        got = stream.take(step)
        x_in, _ = inputs(got["hr"], step)
        z_l = E_l(x_in)
        rest = E_h(got["hr"]) - z_l - F.residual(torch.zeros_like(z_l), E_a(log_spectrogram(got["audio"])))
        z_ls.append(z_l.flatten(1))
        rests.append(rest.flatten(1))
        if progress is not None:
            progress(step + 1, batches)
    return torch.cat(z_ls), torch.cat(rests)


def fit_picture_term(data: Path, runs: Path, weights: Path, out: Path, batches: int = 300, batch: int = 64,
                     seed: int = 7, lambdas=LAMBDAS, progress=None) -> dict:
    """Fit A, c (:func:`ridge_fit`, the penalty by :func:`choose_lambda`) for the model file
    ``weights`` and write it with them to ``out``; returns the fit's record (also in ``out``'s
    metadata, ``picture_fit``)."""
    tensors = load_file(str(weights))
    w = tensors.get("F.net.0.weight")
    if w is None or w[:, : w.shape[1] // 2].abs().max() > 0:
        raise VidsrError(f"{weights}: its F is not a voice-only F (train it with --set voice_only=true)")
    z_l, rest = collect_codes(Path(data), Path(runs), Path(weights), batches, batch, seed, progress)
    lam, errors = choose_lambda(z_l, rest, lambdas)
    a, c = ridge_fit(z_l, rest, lam)
    record = {"faces": len(z_l), "seed": seed, "lambda": lam,
              "validation_l1_code": {"voice term only": rest[validation_start(len(rest)):].abs().mean().item(),
                                     **{f"{k:g}": v for k, v in errors.items()}}}
    with safe_open(str(weights), "pt") as f:
        raw_meta = f.metadata()
    atomic_save(with_picture_term(tensors, a, c), Path(out),
                {**raw_meta, "picture_fit": json.dumps(record)})
    return record


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--weights", type=Path, required=True)
    ap.add_argument("-o", "--out", type=Path, required=True)
    ap.add_argument("--batches", type=int, default=300)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with Progress() as bar:
        task = bar.add_task("encoding faces", total=args.batches)
        record = fit_picture_term(args.data, args.runs, args.weights, args.out, args.batches, args.batch, args.seed,
                                  progress=lambda done, total: bar.update(task, completed=done))
    print(json.dumps(record, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
