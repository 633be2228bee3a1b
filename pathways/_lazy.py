"""Lazy package exports (PEP 562): a package names what it exports and from which of its modules,
and each module is imported on first use. Keeps `pathways --help` from importing JAX."""

from __future__ import annotations

import importlib
from typing import Any, Callable


def attach(package: str, exports: dict[str, list[str]]) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """`__getattr__`, `__dir__` and `__all__` for `package`, given `{submodule: [names]}`."""
    where = {name: f"{package}.{module}" for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(where[name]), name)

    def __dir__() -> list[str]:
        return sorted(where)

    return __getattr__, __dir__, sorted(where)
