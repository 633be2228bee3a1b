"""Safe YAML loading that remembers where every value came from.

Only YAML's safe tags are accepted: a `!!python/...` tag (or any unknown tag) is
an error, so a config file can never construct arbitrary objects.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from pathways._errors import ConfigError, Problem

Path_ = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class Mark:
    file: str
    line: int  # 1-based
    column: int  # 1-based


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


def _walk(node: yaml.Node, path: Path_, file: str, marks: dict[Path_, Mark], problems: list[Problem]) -> None:
    marks[path] = _mark(file, node)
    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                m = _mark(file, key_node)
                problems.append(Problem(dotted(path + (key,)), f"duplicate key {key!r}", m.file, m.line, m.column))
            seen.add(key)
            _walk(value_node, path + (key,), file, marks, problems)
            marks[path + (key,)] = _mark(file, key_node)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), file, marks, problems)


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def load_yaml(path: str | Path) -> tuple[Any, dict[Path_, Mark]]:
    """Parse one YAML file safely; return its data and a map from key path to source mark."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([Problem("", "file not found", file)]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([Problem("", f"cannot read: {exc}", file)]) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError) and "python" in str(exc.problem):
            what = f"{what} (only plain YAML is allowed: tags such as !!python/... are rejected)"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ConfigError([Problem("", f"YAML error: {what}", file, line, col)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"YAML error: {exc}", file)]) from None
    finally:
        loader.dispose()
    marks: dict[Path_, Mark] = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), file, marks, problems)
    if problems:
        raise ConfigError(problems)
    return data, marks
