"""Names that mean one thing: no package exports a function of its own name, and no two packages
export different things under one name (`Result`, `Mesh`, `evaluate`, `plan` once meant several)."""

from __future__ import annotations

import importlib
import pkgutil

import pathways

PACKAGES = sorted(m.name for m in pkgutil.iter_modules(pathways.__path__, "pathways.") if m.ispkg)


def exports(name: str) -> dict[str, object]:
    module = importlib.import_module(name)
    return {n: getattr(module, n) for n in getattr(module, "__all__", ())}


def test_no_package_exports_its_own_name():
    clashes = [f"{p}.{p.rsplit('.', 1)[1]}" for p in PACKAGES if p.rsplit(".", 1)[1] in exports(p)]
    assert not clashes, f"a package and something it exports share a name: {clashes}"


def test_one_public_name_is_one_thing_across_packages():
    seen: dict[str, tuple[str, object]] = {}
    clashes = []
    for p in PACKAGES:
        for n, obj in exports(p).items():
            if n in seen and seen[n][1] is not obj:
                clashes.append(f"{n}: {seen[n][0]}.{n} and {p}.{n}")
            seen.setdefault(n, (p, obj))
    assert not clashes, f"different things exported under one name: {clashes}"
