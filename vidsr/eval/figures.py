"""Figs. 3-5 of the paper as labelled PNG grids (tiles upscaled, nearest, to at least 128 px).

- ``fig3-ablations.png``: 8x8 input | E_h | E_l | E_a | F | high-res (one test face a row);
- ``fig4-baselines.png``: 8x8 input | bicubic | LapSRN | F | F_3 | high-res;
- ``fig5-mixing.png``: faces (rows) x voices of both genders (columns); the top row shows
  the faces the voices belong to, the first two columns each face and its 8x8 input.
Columns whose networks are missing are grey and labelled "(missing)".
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import torch

from vidsr.eval.networks import Networks
from vidsr.eval.rows import ROWS, generate
from vidsr.imaging import downsample, grid, save_png, upsample_nearest

HEADER = 24
FIG_ROWS = 6


def labelled_grid(labels: list[str], images: torch.Tensor, ncols: int) -> np.ndarray:
    """Row-major tiles [rows*ncols, 3, R, R] in [-1, 1] under a header of column labels."""
    size = images.shape[-1]
    scale = max(1, 128 // size)
    canvas = grid(upsample_nearest(images, size * scale), ncols)
    tile, pad = size * scale, 2
    header = np.full((HEADER, canvas.shape[1], 3), 255, np.uint8)
    for c, text in enumerate(labels):
        font, fs = cv2.FONT_HERSHEY_SIMPLEX, 0.45
        (w, _), _ = cv2.getTextSize(text, font, fs, 1)
        while w > tile and fs > 0.25:
            fs -= 0.05
            (w, _), _ = cv2.getTextSize(text, font, fs, 1)
        x = pad + c * (tile + pad) + max(0, (tile - w) // 2)
        cv2.putText(header, text, (x, HEADER - 8), font, fs, (0, 0, 0), 1, cv2.LINE_AA)
    return np.concatenate([header, canvas])


def pick_faces(read: dict, count: int, gender: int | None = None, exclude: set[int] = frozenset()) -> list[int]:
    """Up to `count` samples of distinct identities spread over the split (alternating
    genders when `gender` is None)."""
    first: dict[int, int] = {}
    for i, ident in enumerate(read["identity"].tolist()):
        if ident not in first and ident not in exclude and read["gender"][i] >= 0:
            first[ident] = i
    idx = list(first.values())
    if gender is not None:
        idx = [i for i in idx if read["gender"][i] == gender]
        return [idx[int(j)] for j in np.linspace(0, len(idx) - 1, min(count, len(idx))).round()] if idx else []
    by_g = [pick_faces(read, (count + 1) // 2, g, exclude) for g in (0, 1)]
    mixed = [i for pair in zip(*by_g) for i in pair] + by_g[0][len(by_g[1]):] + by_g[1][len(by_g[0]):]
    return mixed[:count]


def _faces(read: dict, idx: list[int], device) -> torch.Tensor:
    return read["faces"][idx].to(device).float() / 127.5 - 1


def _column(bank: Networks, read: dict, key: str, x_h: torch.Tensor, idx: list[int], rows: list[str]) -> torch.Tensor:
    if key not in rows:
        return torch.zeros_like(x_h)
    row = ROWS[key]
    z_a = read["codes"][row.voice][idx].to(x_h.device) if row.voice else None
    return generate(bank, row, x_h, z_a).to(x_h.dtype)


def _strip(bank, read, rows, idx, columns, device) -> tuple[list[str], torch.Tensor]:
    x_h = _faces(read, idx, device)
    shown = upsample_nearest(downsample(x_h, bank.preset.lr_size), x_h.shape[-1])  # x_l, enlarged
    cols, labels = [], []
    for key, label in columns:
        if key == "input":
            cols.append(shown)
        else:
            cols.append(_column(bank, read, key, x_h, idx, rows))
        labels.append(label if key in ("input", "hr") or key in rows else f"{label} (missing)")
    return labels, torch.stack(cols, 1).flatten(0, 1)


@torch.no_grad()
def write_figures(bank: Networks, read: dict, out: Path, rows: list[str]) -> dict:
    """Write the three figures into `out`; returns {figure: file name or why it is absent}."""
    device = _device(bank)
    lr = bank.preset.lr_size
    written = {}
    idx = pick_faces(read, FIG_ROWS)
    if not idx:
        return {"fig3": "no labelled faces", "fig4": "no labelled faces", "fig5": "no labelled faces"}
    for name, columns in (
        ("fig3-ablations.png", [("input", f"{lr}x{lr}"), ("eh", "E_h"), ("el", "E_l"), ("ea", "E_a"), ("f", "F"), ("hr", "high-res")]),
        ("fig4-baselines.png", [("input", f"{lr}x{lr}"), ("bicubic", "bicubic"), ("lapsrn", "LapSRN"), ("f", "F"),
                                ("f3", "F_3"), ("hr", "high-res")]),
    ):
        labels, tiles = _strip(bank, read, rows, idx, columns, device)
        save_png(out / name, labelled_grid(labels, tiles, len(columns)))
        written[name.split("-")[0]] = name
    key = "f" if "f" in rows else "f3" if "f3" in rows else None
    if key is None:
        written["fig5"] = "no fusion network (F or F_3) to mix with"
        return written
    faces = pick_faces(read, 4)
    voices = [i for g in (0, 1) for i in pick_faces(read, 3, g, exclude=set(read["identity"][faces].tolist()))]
    if len(voices) < 2:
        written["fig5"] = "too few other identities to take voices from"
        return written
    row = ROWS[key]
    x_f, x_v = _faces(read, faces, device), _faces(read, voices, device)
    blank = torch.ones_like(x_f[:1])
    tiles = [blank, blank, x_v]
    for i in range(len(faces)):
        x = x_f[i:i + 1]
        xs = x.expand(len(voices), -1, -1, -1)
        tiles += [x, upsample_nearest(downsample(x, lr), x.shape[-1]),
                  generate(bank, row, xs, read["codes"][row.voice][voices].to(device))]
    sexes = ["M" if read["gender"][v] == 0 else "F" for v in voices]
    labels = ["face", f"{lr}x{lr}"] + [f"voice {s}" for s in sexes]
    save_png(out / "fig5-mixing.png", labelled_grid(labels, torch.cat(tiles), 2 + len(voices)))
    written["fig5"] = "fig5-mixing.png"
    return written


def _device(bank: Networks) -> torch.device:
    for net in bank.nets.values():
        for p in net.parameters():
            return p.device
    return torch.device("cpu")
