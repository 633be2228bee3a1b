"""What the installed plugins register, cached per environment, so that `pathways plugins` and
`pathways schema` answer without importing JAX (about a second and a half here).

The cache key covers everything that could change the answer: the Python
executable, every `pathways` entry point with its distribution's version, and the
size and mtime of every source file of `pathways` and of each entry point's
package (so editing an editable install invalidates it). A stale or unreadable
cache is rebuilt; one that cannot be written is skipped.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

from pathways.plugins._manager import ENTRY_POINT_GROUP, PluginLoadWarning

VERSION = 1  # of the snapshot's layout


def cache_dir() -> Path:
    """`$PATHWAYS_CACHE_DIR`, else `$XDG_CACHE_HOME/pathways`, else `~/.cache/pathways`."""
    if os.environ.get("PATHWAYS_CACHE_DIR"):
        return Path(os.environ["PATHWAYS_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pathways"


def _sources(top: str) -> list[Path]:
    spec = importlib.util.find_spec(top)  # a top-level name: found without importing it
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return sorted(p for root in spec.submodule_search_locations for p in Path(root).rglob("*.py"))
    return [Path(spec.origin)] if spec.origin else []


def fingerprint() -> str:
    h = hashlib.sha256(f"{VERSION}\0{sys.executable}\0{sys.version}".encode())
    tops = {"pathways"}
    for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = f"{ep.dist.name}=={ep.dist.version}" if ep.dist is not None else ""
        h.update(f"{ep.name}={ep.value} {dist}\0".encode())
        tops.add(ep.value.split(":")[0].split(".")[0])
    for top in sorted(tops):
        for path in _sources(top):
            st = path.stat()
            h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return h.hexdigest()[:32]


def _build() -> dict[str, Any]:
    from pathways.components import check_component
    from pathways.config import json_schema
    from pathways.plugins._manager import get_plugin_manager
    from pathways.plugins._registry import component_registry

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PluginLoadWarning)
        pm = get_plugin_manager()
        registry = component_registry()
    components = []
    for e in registry:
        try:
            check_component(e.cls)  # abstractly: its forward on port-shaped inputs keeps its ports
            problem = None
        except Exception as exc:  # noqa: BLE001 - reported, the component still listed
            problem = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"
        components.append({"name": e.name, "kind": e.cls.kind, "plugin": e.plugin, "roles": sorted(e.cls.roles),
                           "media": {port: m.modality for port, m in dict(e.cls.media).items()}, "problem": problem})
    return {
        "components": components,
        "plugins": [{"name": name, "module": getattr(plugin, "__name__", repr(plugin))} for name, plugin in pm.list_name_plugin()],
        # A manager made earlier in this process warned then, not now: its failures are still known.
        "warnings": [str(w.message) for w in caught if issubclass(w.category, PluginLoadWarning)] or list(getattr(pm, "failed", {}).values()),
        "schema": json_schema(registry),
    }


def snapshot() -> dict[str, Any]:
    """Registered components (with any broken promise found by `check_component`), plugins,
    load warnings and the config JSON Schema. Load warnings are re-issued on every call."""
    key = fingerprint()
    path = cache_dir() / f"snapshot-{key}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = _build()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)
            for old in path.parent.glob("snapshot-*.json"):
                if old != path:
                    old.unlink(missing_ok=True)
        except OSError:
            pass  # a read-only home: no cache, still correct
    else:
        for message in data["warnings"]:
            warnings.warn(message, PluginLoadWarning, stacklevel=2)
    return data
