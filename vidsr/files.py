"""Files that appear whole or not at all.

Everything vidsr writes (weights, checkpoints, shards, reports, pictures, sound) is first
written under a hidden temporary name beside its target, ``.NAME.partial``, and then renamed
into place (``os.replace`` is atomic within a file system): a reader, or a run killed
half-way, sees the old file or the complete new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator


def partial_name(path: str | os.PathLike) -> Path:
    """The temporary name ``path`` is written under: ``.NAME.partial`` in the same folder."""
    path = Path(path)
    return path.with_name(f".{path.name}.partial")


def _usual_rights(path: Path) -> None:
    """Read/write rights as the umask says (some writers, such as safetensors, make
    owner-only files)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """The temporary path to write ``path``'s content to; when the block ends without an
    error it is renamed to ``path``, otherwise deleted (and ``path`` left as it was)."""
    path = Path(path)
    tmp = partial_name(path)
    try:
        yield tmp
        _usual_rights(tmp)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | os.PathLike, data) -> None:
    """``data`` as indented JSON, except that a list of dicts (a track's rows, a table)
    keeps one item per line: readable without every number on a line of its own."""
    write_text(path, _json_text(data))


def _json_text(data) -> str:
    if not isinstance(data, dict):
        return json.dumps(data, indent=1) + "\n"
    lines = []
    for key, value in data.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            items = ",\n  ".join(json.dumps(v) for v in value)
            text = f"[\n  {items}\n ]"
        else:
            text = json.dumps(value)
        lines.append(f" {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
