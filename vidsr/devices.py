"""Device names: what ``--device`` accepts, checked before any work (without importing torch)."""

from __future__ import annotations

import re

from vidsr.errors import VidsrError

DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"
_DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def check_device_name(name: str) -> str:
    """``name`` if it is a device vidsr can run on; VidsrError (one line) otherwise."""
    if not isinstance(name, str) or not _DEVICE.fullmatch(name.strip()):
        raise VidsrError(f"unknown device {name!r} (choose {DEVICE_CHOICES})")
    return name.strip()
