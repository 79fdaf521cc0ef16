"""The default model, used when no ``--weights`` is given.

It lives in the repository's ``weights/`` folder and is installed with the package as data
(``pyproject.toml``, ``[tool.setuptools.data-files]``) into ``<prefix>/share/vidsr/weights/``,
so a non-editable install (``pip install .``, a wheel) finds it from any working directory.
``$VIDSR_WEIGHTS`` overrides it, and ``--weights`` overrides both.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

from vidsr.errors import WeightsError

DEFAULT_NAME = "vidsr-cpu.safetensors"
SOURCE_ROOT = Path(__file__).resolve().parents[1]
INSTALLED_DIR = Path("share") / "vidsr" / "weights"  # under the install prefix (data-files)


def shipped_weights_dirs() -> list[Path]:
    """Where the shipped model is looked for, in order: ``weights/`` of a source checkout
    (an editable install), then the data folder of the install scheme (the prefix of
    the virtualenv or Python, then the user's, for ``pip install --user``)."""
    dirs = []
    if (SOURCE_ROOT / "pyproject.toml").is_file():
        dirs.append(SOURCE_ROOT / "weights")
    prefixes = [sysconfig.get_path("data"), sys.prefix]
    try:
        prefixes.append(sysconfig.get_path("data", f"{os.name}_user"))
    except KeyError:  # no user scheme on this platform
        pass
    for prefix in dict.fromkeys(p for p in prefixes if p):
        dirs.append(Path(prefix) / INSTALLED_DIR)
    return dirs


def shipped_weights_path() -> Path:
    """The shipped default model: the first of :func:`shipped_weights_dirs` that holds it
    (the first one when none does, for the error message)."""
    candidates = [d / DEFAULT_NAME for d in shipped_weights_dirs()]
    return next((p for p in candidates if p.is_file()), candidates[0])


def default_weights_path() -> Path:
    """$VIDSR_WEIGHTS, else the shipped model (:func:`shipped_weights_path`)."""
    env = os.environ.get("VIDSR_WEIGHTS")
    return Path(env) if env else shipped_weights_path()


def resolve_weights(path: str | Path | None) -> Path:
    if path:
        p = Path(path)
        if not p.is_file():
            raise WeightsError(f"weights not found: {p}")
        return p
    p = default_weights_path()
    if not p.is_file():
        where = "$VIDSR_WEIGHTS" if os.environ.get("VIDSR_WEIGHTS") else (
            "the default model; looked in " + ", ".join(str(d) for d in shipped_weights_dirs()))
        raise WeightsError(f"weights not found: {p} ({where}); give --weights FILE")
    return p


def default_weights_status() -> tuple[bool, str]:
    """(whether the default model is usable, a line about it: path, where it came from,
    preset and size; or why not), for `vidsr doctor`."""
    p = default_weights_path()
    source = "$VIDSR_WEIGHTS" if os.environ.get("VIDSR_WEIGHTS") else "shipped"
    if not p.is_file():
        return False, f"missing ({p}, {source})"
    from vidsr.models.io import read_metadata

    try:
        meta = read_metadata(p)
    except WeightsError as e:
        return False, str(e)
    return True, f"ok ({p}, {source}, preset {meta['preset']['name']}, {p.stat().st_size / 1e6:.1f} MB)"
