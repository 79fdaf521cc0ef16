"""The ridge fit of research/scripts/fit_picture_term.py (run: python -m pytest research/scripts/test_fit_picture_term.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fit_picture_term import choose_lambda, ridge_fit, with_picture_term  # noqa: E402


def test_ridge_fit_recovers_a_linear_map_and_chooses_its_penalty_on_held_out_rows():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(400, 6, generator=g)
    a, c = torch.randn(6, 6, generator=g), torch.randn(6, generator=g)
    y = x @ a.T + c + 0.01 * torch.randn(400, 6, generator=g)
    fa, fc = ridge_fit(x, y, 1e-6)
    assert torch.allclose(fa, a, atol=0.01) and torch.allclose(fc, c, atol=0.01)
    lam, errors = choose_lambda(x, y, (1e-3, 1e3))
    assert lam == 1e-3 and errors[1e-3] < errors[1e3]
    assert not ridge_fit(x, y, 1e9)[0].abs().max() > 1e-4  # a huge penalty leaves only the mean (c)
    tensors = {"F.net.0.weight": torch.zeros(6, 12, dtype=torch.float16), "F.net.0.bias": torch.ones(6, dtype=torch.float16)}
    out = with_picture_term(tensors, fa, fc)
    assert out["F.net.0.weight"].dtype == torch.float16 and torch.allclose(out["F.net.0.weight"][:, :6].float(), fa, atol=0.01)
    with pytest.raises(ValueError, match="does not fit"):
        with_picture_term(tensors, torch.zeros(6, 5), fc)
