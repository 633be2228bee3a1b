"""The plugin manager: built-in plugins first, then the `pathways` entry-point group."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import traceback
import warnings

import pluggy

from pathways._errors import debugging
from pathways.plugins import _hookspecs

ENTRY_POINT_GROUP = "pathways"

# Built-in plugins, registered exactly like installed ones.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "pathways.components.text",
    "pathways.components.image",
    "pathways.components.siglip",
    "pathways.components.projectors",
    "pathways.components.audio",
    "pathways.components.fusion",
    "pathways.components.decoder",
    "pathways.components.heads",
    "pathways.data.digits",
    "pathways.data.easy_vqa",
    "pathways.data.spoken_numbers",
    "pathways.data.cldr",
    "pathways.data.prose",
    "pathways.data.wordnet",
    "pathways.data.user_files",
    "pathways.data.parquet",
    "pathways.data.hf_datasets",
    "pathways.adapters.lora",
    "pathways.curate.filters.langid",
    "pathways.curate.filters.gopher",
    "pathways.curate.filters.c4",
    "pathways.curate.filters.blocklist",
    "pathways.curate.filters.dedup",
    "pathways.curate.filters.classifier",
    "pathways.evaluate.tasks.prose",
    "pathways.evaluate.tasks.translation",
    "pathways.evaluate.tasks.wordnet",
    "pathways.evaluate.tasks.vqa",
    "pathways.evaluate.tasks.spoken_numbers",
    "pathways.evaluate.tasks.digits",
)


class PluginLoadWarning(UserWarning):
    """An installed plugin failed to load; the others still do."""


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, remembering which installed plugins failed to load and why (`failed`)."""

    def __init__(self) -> None:
        super().__init__("pathways")
        self.failed: dict[str, str] = {}  # plugin name -> one-line reason


def _where(exc: BaseException) -> str:
    """`file:line` of the innermost frame that raised `exc` (in the plugin's code, as a rule)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{exc.filename}:{exc.lineno}"
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


def _load_entry_points(pm: PluginManager) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        dist = f" (package {ep.dist.name})" if ep.dist is not None else ""
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party package must not break the others
            first = (str(exc).strip().splitlines() or [""])[0]
            reason = f"failed to load from {ep.value!r}: {type(exc).__name__}: {first} (at {_where(exc)})"
            pm.failed[ep.name] = f"plugin {ep.name!r}{dist} {reason}"
            detail = "".join(traceback.format_exception(exc)) if debugging() else " (--debug or PATHWAYS_DEBUG=1 shows the traceback)"
            warnings.warn(f"{pm.failed[ep.name]}{detail}", PluginLoadWarning, stacklevel=2)
            continue
        pm.register(plugin, name=ep.name)
        if not pm.get_hookcallers(plugin):
            warnings.warn(
                f"plugin {ep.name!r}{dist} registers nothing: module {ep.value!r} has no @pathways.hookimpl functions "
                f"(hook names: {', '.join(sorted(h for h in dir(pm.hook) if h.startswith('pathways_')))})",
                PluginLoadWarning,
                stacklevel=2,
            )


def new_plugin_manager(*, entry_points: bool = True) -> PluginManager:
    """A fresh manager with the built-in plugins and, unless disabled, installed ones."""
    pm = PluginManager()
    pm.add_hookspecs(_hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        _load_entry_points(pm)
    return pm


@functools.cache
def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, created on first use."""
    return new_plugin_manager()
