"""The plugin manager: built-in plugins first, then the `pathways` entry-point group."""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import warnings

import pluggy

from pathways.plugins import _hookspecs

ENTRY_POINT_GROUP = "pathways"

# Built-in plugins, registered exactly like installed ones.
DEFAULT_PLUGINS: tuple[str, ...] = (
    "pathways.components.text",
    "pathways.components.image",
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


def _load_entry_points(pm: pluggy.PluginManager) -> None:
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.get_plugin(ep.name) is not None or pm.is_blocked(ep.name):
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # a broken third-party package must not break the others
            dist = f" (package {ep.dist.name})" if ep.dist is not None else ""
            warnings.warn(
                f"plugin {ep.name!r}{dist} failed to load from {ep.value!r}: {type(exc).__name__}: {exc}",
                PluginLoadWarning,
                stacklevel=2,
            )
            continue
        pm.register(plugin, name=ep.name)


def new_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the built-in plugins and, unless disabled, installed ones."""
    pm = pluggy.PluginManager("pathways")
    pm.add_hookspecs(_hookspecs)
    for name in DEFAULT_PLUGINS:
        pm.register(importlib.import_module(name), name=name)
    if entry_points:
        _load_entry_points(pm)
    return pm


@functools.cache
def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created on first use."""
    return new_plugin_manager()
