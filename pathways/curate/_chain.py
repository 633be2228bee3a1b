"""Filter chains: a YAML list of `{type, config}` (and optional `name`) steps, validated against the registry."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pydantic

from pathways._errors import ConfigError, Problem
from pathways.config import Mark, Path_, load_yaml, pydantic_problems
from pathways.curate._filter import Filter, FilterConfig

# What `pathways data curate` runs without `--filters`: identify, judge, then deduplicate.
DEFAULT_CHAIN: tuple[dict[str, Any], ...] = (
    {"type": "language_id"},
    {"type": "gopher_quality"},
    {"type": "blocklist"},
    {"type": "exact_dedup"},
    {"type": "minhash_dedup"},
)


class StepSpec(pydantic.BaseModel):
    """One entry of a chain file."""

    model_config = pydantic.ConfigDict(extra="forbid")
    type: str = pydantic.Field(description="a registered filter type (built-ins: docs/curation.md)")
    name: str | None = pydantic.Field(None, description="label in the report (default: the type; repeats get #2, #3)")
    config: dict[str, Any] = pydantic.Field(default_factory=dict, description="the filter's Config fields")


@dataclasses.dataclass(frozen=True)
class Step:
    """A validated step: the filter class, its config and the plugin that registered it."""

    name: str
    cls: type[Filter]
    cfg: FilterConfig
    plugin: str

    def build(self) -> Filter:
        return self.cls(self.cfg)


@dataclasses.dataclass(frozen=True)
class Chain:
    """Steps in order, and the folder their relative paths resolve against."""

    steps: tuple[Step, ...]
    base_dir: Path
    source: str | None = None  # the YAML file, None for the default chain

    def build(self) -> list[Filter]:
        """Fresh filter instances, each `setup` (call in the process that runs them)."""
        filters = [step.build() for step in self.steps]
        for f in filters:
            f.setup(self.base_dir)
        return filters


def _locate(problems: list[Problem], file: str | None, marks: dict[Path_, Mark]) -> list[Problem]:
    out = []
    for p in problems:
        parts = tuple(int(s) if s.isdigit() else s for s in p.where.split(".")) if p.where else ()
        mark = None
        while mark is None and parts:
            mark = marks.get(parts)
            parts = parts[:-1]
        if mark is not None:
            p = dataclasses.replace(p, file=mark.file, line=mark.line, column=mark.column)
        elif file is not None:
            p = dataclasses.replace(p, file=file)
        out.append(p)
    return out


def build_chain(steps: Any, *, base_dir: str | Path | None = None, source: str | None = None, marks: dict | None = None) -> Chain:
    """Validate a list of step dicts against the filter registry; every problem is reported at once."""
    from pathways.plugins import filter_registry

    registry = filter_registry()
    if not isinstance(steps, list) or not steps:
        raise ConfigError([Problem("", "a filter chain is a non-empty list of {type, config} entries", source)])
    problems: list[Problem] = []
    built: list[Step] = []
    names: dict[str, int] = {}
    for i, raw in enumerate(steps):
        try:
            spec = StepSpec.model_validate(raw)
        except pydantic.ValidationError as exc:
            problems += pydantic_problems(exc, (i,), StepSpec)
            continue
        entry, cfg, found = registry.configure(spec.type, spec.config, type_at=(i, "type"), config_at=(i, "config"))
        if found:
            problems += found
            continue
        name = spec.name or spec.type
        names[name] = names.get(name, 0) + 1
        if names[name] > 1:
            name = f"{name}#{names[name]}"
        built.append(Step(name, entry.cls, cfg, entry.plugin))
    if problems:
        raise ConfigError(_locate(problems, source, marks or {}))
    return Chain(tuple(built), Path(base_dir) if base_dir is not None else Path.cwd(), source)


def load_chain(path: str | Path | None = None) -> Chain:
    """The chain in a YAML file (relative paths in it resolve against its folder); None: the default chain."""
    if path is None:
        return build_chain([dict(s) for s in DEFAULT_CHAIN])
    data, marks = load_yaml(path)
    return build_chain(data, base_dir=Path(path).resolve().parent, source=str(path), marks=marks)


def make_filter(type_name: str, config: dict[str, Any] | None = None, base_dir: str | Path | None = None) -> Filter:
    """One registered filter, configured and set up: `make_filter("gopher_quality", {"min_words": 20})`."""
    (step,) = build_chain([{"type": type_name, "config": config or {}}], base_dir=base_dir).steps
    f = step.build()
    f.setup(Path(base_dir) if base_dir is not None else Path.cwd())
    return f
