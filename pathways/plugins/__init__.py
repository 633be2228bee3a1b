"""Plugin machinery: hook specifications, the plugin manager and registries."""

from pathways._markers import hookimpl, hookspec
from pathways.plugins._catalog import HEADER, catalog
from pathways.plugins._manager import (
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    PluginLoadWarning,
    get_plugin_manager,
    new_plugin_manager,
)
from pathways.plugins._registry import Entry, Registry, adapter_registry, component_registry, dataset_registry, filter_registry, task_registry
from pathways.plugins._scaffold import new_plugin
from pathways.plugins._snapshot import snapshot

__all__ = [
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "Entry",
    "HEADER",
    "PluginLoadWarning",
    "Registry",
    "adapter_registry",
    "catalog",
    "component_registry",
    "dataset_registry",
    "filter_registry",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "new_plugin",
    "new_plugin_manager",
    "snapshot",
    "task_registry",
]
