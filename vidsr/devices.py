"""Devices and precision: what ``--device`` accepts (checked before any work, without
importing torch), the torch device it names, and mixed precision (autocast)."""

from __future__ import annotations

import contextlib
import re

from vidsr.errors import VidsrError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device_name(name: str) -> str:
    """``name`` if it is a device vidsr can run on; VidsrError (one line) otherwise."""
    if not isinstance(name, str) or not _DEVICE.fullmatch(name.strip()):
        raise VidsrError(f"unknown device {name!r} (choose {DEVICE_CHOICES})")
    return name.strip()


PRECISIONS = ("fp32", "bf16", "fp16")  # --precision (training)


def pick_device(name: str = "auto"):
    """The torch device for ``--device`` (auto: a GPU if there is one); VidsrError for a
    name that is no device, or a GPU this machine does not have."""
    import torch

    name = check_device_name(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise VidsrError(f"device '{name}' asked for, but no CUDA GPU is available")
        index = int(name.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise VidsrError(f"device '{name}' asked for, but this machine has {torch.cuda.device_count()} GPU(s)")
    return torch.device(name)


def precision_dtype(precision: str):
    """The torch dtype of a ``--precision`` name (None for fp32: no autocast)."""
    import torch

    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def autocast(device, dtype):
    """A context that runs ``device``'s ops in ``dtype`` (torch.autocast); none for None."""
    import torch

    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def half_autocast(device, half: bool):
    """A factory of autocast contexts for inference: bf16 with ``half`` (fp16 on GPUs
    without bf16); else a factory of no-ops."""
    import torch

    if not half:
        return contextlib.nullcontext
    dtype = torch.bfloat16
    if device.type == "cuda" and not torch.cuda.is_bf16_supported():
        dtype = torch.float16
    return lambda: torch.autocast(device.type, dtype=dtype)
