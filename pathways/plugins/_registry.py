"""Registries: what plugins registered, by `type_name`, with who registered it."""

from __future__ import annotations

import dataclasses
import difflib
import functools
import warnings
from typing import Any, Callable, Generic, Mapping, TypeVar

import pluggy
import pydantic

from pathways._errors import PluginError, Problem
from pathways.plugins._manager import PluginLoadWarning, get_plugin_manager

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered class and the name of the plugin that provided it."""

    name: str
    cls: type[T]
    plugin: str


class Registry(Generic[T]):
    """Classes collected from one `pathways_register_<things>` hook, keyed by `type_name`.

    Built from every plugin's hook implementation; the same name from two
    plugins is a `PluginError` naming both.
    """

    def __init__(
        self,
        pm: pluggy.PluginManager,
        hook: str,
        base: type[T],
        what: str,
        check: Callable[[type[T]], str | None] = lambda cls: None,
    ):
        self.what = what
        self.failed = dict(getattr(pm, "failed", {}))  # installed plugins that did not load
        self._entries: dict[str, Entry[T]] = {}
        problems = []
        for impl in getattr(pm.hook, hook).get_hookimpls():
            plugin = pm.get_name(impl.plugin) or repr(impl.plugin)
            for cls in impl.function() or ():
                name = getattr(cls, "type_name", None)
                if not (isinstance(cls, type) and issubclass(cls, base)) or not isinstance(name, str):
                    problems.append(Problem(f"plugin {plugin}", f"{hook} returned {cls!r}, not a {base.__name__} subclass with a type_name"))
                    continue
                broken = check(cls)
                if broken:  # skip it, like a plugin that fails to import; the rest still load
                    warnings.warn(f"plugin {plugin!r}: {what} {name!r} skipped: {broken}", PluginLoadWarning, stacklevel=2)
                    continue
                if name in self._entries:
                    other = self._entries[name].plugin
                    problems.append(Problem(f"plugin {plugin}", f"{what} {name!r} is registered by both {other!r} and {plugin!r}"))
                    continue
                self._entries[name] = Entry(name, cls, plugin)
        if problems:
            raise PluginError(problems)

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def __iter__(self):
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)

    def get(self, name: str) -> Entry[T]:
        return self._entries[name]

    def configure(
        self, name: str, config: Mapping[str, Any] | None, *, type_at: tuple, config_at: tuple, context: Mapping[str, Any] | None = None
    ) -> tuple[Entry[T] | None, Any, list[Problem]]:
        """Look up `name` and validate `config` against its class's `Config` (pydantic validation `context`, if any).

        Returns `(entry, cfg, [])`, or `(None, None, problems)`: an unknown name placed at
        `type_at`, or one problem per invalid field placed under `config_at` (key paths).
        """
        from pathways.config import dotted, pydantic_problems

        if name not in self:
            return None, None, [Problem(dotted(type_at), self.unknown(name))]
        entry = self.get(name)
        try:
            return entry, entry.cls.Config.model_validate(config or {}, context=context), []
        except pydantic.ValidationError as exc:
            return None, None, pydantic_problems(exc, config_at, entry.cls.Config)

    def unknown(self, name: str) -> str:
        """Message for a name that is not registered: closest match and the full list."""
        close = difflib.get_close_matches(name, self.names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        failed = f"; it may come from a plugin that failed to load: {'; '.join(self.failed.values())}" if self.failed else ""
        return f"unknown {self.what} type {name!r}{hint} (registered: {', '.join(self.names())}){failed}"


@functools.cache
def component_registry() -> Registry:
    """The process-wide registry of components, built on first use."""
    from pathways.components import Component, check_contract

    return Registry(get_plugin_manager(), "pathways_register_components", Component, "component", check_contract)


@functools.cache
def adapter_registry() -> Registry:
    """The process-wide registry of adapters (LoRA, ...), built on first use."""
    from pathways.adapters import Adapter, check_adapter

    return Registry(get_plugin_manager(), "pathways_register_adapters", Adapter, "adapter", check_adapter)


@functools.cache
def dataset_registry() -> Registry:
    """The process-wide registry of datasets, built on first use."""
    from pathways.data import Dataset

    def check(cls) -> str | None:
        missing = [a for a in ("type_name", "Config", "fields") if not hasattr(cls, a)]
        return f"{cls.__qualname__} does not set {', '.join(missing)}" if missing else None

    return Registry(get_plugin_manager(), "pathways_register_datasets", Dataset, "dataset", check)


@functools.cache
def filter_registry() -> Registry:
    """The process-wide registry of data-curation filters, built on first use."""
    from pathways.curate import Filter, check_filter

    return Registry(get_plugin_manager(), "pathways_register_filters", Filter, "filter", check_filter)


@functools.cache
def task_registry() -> Registry:
    """The process-wide registry of evaluation tasks, built on first use."""
    from pathways.evaluate import Task, check_task

    return Registry(get_plugin_manager(), "pathways_register_tasks", Task, "task", check_task)
