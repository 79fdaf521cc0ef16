"""Files that appear whole or not at all.

The files vidsr writes whole (weights, checkpoints, shards, reports, pictures, sound) are
first written under a hidden temporary name beside their target, ``.NAME.partial`` (videos:
``.NAME.partial.mp4``, then ``.NAME.muxing.mp4`` while the sound is added, by
:class:`vidsr.media.VideoWriter`), and then renamed into place (``os.replace`` is atomic
within a file system): a reader, or a run killed half-way, sees the old file or the complete
new one, never a torn one. Not so a training run's logs: ``stats.jsonl`` grows a line at a
time, and ``options.json`` is written in place.

A run that writes into a folder holds the folder's lock (:func:`folder_lock`), so two runs
never write the same temporaries at once, and it first sweeps away the temporaries a run
killed with SIGKILL (or a power cut) left there (:func:`sweep_partials`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

from vidsr.errors import FolderBusyError

LOCK_NAME = ".vidsr.lock"


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


def is_partial(name: str) -> bool:
    """Whether ``name`` is one of vidsr's temporaries (``.NAME.partial``, ``.NAME.partial.mp4``,
    ``.NAME.muxing.mp4``, ...)."""
    return name.startswith(".") and (".partial" in name or ".muxing." in name)


def sweep_partials(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries left in ``folder`` by runs that were killed; returns them.
    Call it only while holding the folder's lock (no other run is writing there)."""
    swept = []
    for path in Path(folder).iterdir():
        if is_partial(path.name) and path.is_file():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                swept.append(path)
    return swept


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike, wait: bool = False) -> Iterator[Path]:
    """Hold ``folder``'s lock (``.vidsr.lock``, an advisory ``flock``; created with the
    folder if needed) for the block, after sweeping the folder's stale temporaries.
    If another process holds it: wait for it (``wait``), else FolderBusyError at once.
    The lock file is removed again."""
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lock = folder / LOCK_NAME
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            raise FolderBusyError(f"'{folder}' is already being written by another vidsr run; "
                                  "wait for it to finish") from None
        try:  # the holder before us may have removed the file we locked: lock the new one
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        sweep_partials(folder)
        yield folder
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)
