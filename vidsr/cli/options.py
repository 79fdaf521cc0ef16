"""Checks of option values, run by Typer as the command line is parsed (``callback=``): a
bad value is one line on stderr ("Invalid value for '--device': ...") and exit code 2,
before any work starts."""

from __future__ import annotations

from pathlib import Path

import typer

from vidsr.devices import check_device_name
from vidsr.errors import VidsrError


def device(value: str | None) -> str | None:
    """--device: auto, cpu, cuda or cuda:N."""
    if value is None:
        return None
    try:
        return check_device_name(value)
    except VidsrError as e:
        raise typer.BadParameter(str(e)) from None


def above_zero(value: float | None) -> float | None:
    """A number that must be above zero when given (--scale)."""
    if value is not None and not value > 0:
        raise typer.BadParameter(f"must be above 0, got {value:g}")
    return value


def given(**values) -> dict:
    """The options the user gave (not None), to pass on as keywords: the library's own
    defaults stand for the rest, so they are written in one place."""
    return {k: v for k, v in values.items() if v is not None}


def key_values(items: list[str] | None, name: str = "--set") -> dict:
    """--set KEY=VALUE (repeatable) as {KEY: VALUE}, VALUE read as JSON where it parses
    (numbers, true/false, null, lists), else as text (a path)."""
    import json

    out = {}
    for item in items or []:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=f"'{name}'")
        try:
            out[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            out[key.strip()] = text
    return out


def is_ray_address(text: str) -> bool:
    """Whether ``text`` is a Ray cluster's address for --ray: local, auto, HOST:PORT or
    ray://HOST:PORT (not a file or folder that happens to hold a colon)."""
    return text in ("local", "auto") or (":" in text and not text.startswith("-") and not Path(text).exists())


def ray_address(value: str | None) -> str | None:
    """--ray ADDRESS (see :func:`bare_ray`)."""
    if value is not None and not is_ray_address(value):
        raise typer.BadParameter(f"{value!r} is no cluster address (local, auto, HOST:PORT or ray://HOST:PORT)")
    return value


def bare_ray(argv: list[str]) -> list[str]:
    """``argv`` with "local" after a --ray that has no address (the end, an option or an input
    follows): `--ray [ADDRESS]`, which Typer cannot declare (its options take a value or none)."""
    out = []
    for i, arg in enumerate(argv):
        if arg == "--":  # the rest are inputs
            return out + argv[i:]
        out.append(arg)
        if arg == "--ray" and (i + 1 == len(argv) or not is_ray_address(argv[i + 1])):
            out.append("local")
    return out
