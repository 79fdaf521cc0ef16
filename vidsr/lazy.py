"""Package attributes imported on first use (PEP 562): a package's ``__init__`` can name what
its modules define without importing them (and their numpy, torch, scipy) until one is used."""

from __future__ import annotations

from importlib import import_module


def lazy_attributes(package: str, where: dict[str, str]):
    """A module ``__getattr__`` for ``package``: the name ``n`` is ``package.<where[n]>.n``."""

    def __getattr__(name: str):
        if name in where:
            return getattr(import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
