"""Safe YAML loading that remembers where every value came from.

Only YAML's safe tags are accepted: a `!!python/...` tag (or any unknown tag) is
an error, so a config file can never construct arbitrary objects. Aliases that
refer to themselves, or that multiply into more values than any config holds
("billion laughs"), are errors too, as is nesting deeper than any config needs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from pathways._errors import ConfigError, Problem

Path_ = tuple[str | int, ...]
MAX_DEPTH = 64  # a real config nests about 6 levels (pathways.NAME.config.image_size.0)
MAX_VALUES = 100_000  # a 100-layer preset is about 300 values


@dataclasses.dataclass(frozen=True)
class Mark:
    file: str
    line: int  # 1-based
    column: int  # 1-based


def _mark(file: str, node: yaml.Node) -> Mark:
    return Mark(file, node.start_mark.line + 1, node.start_mark.column + 1)


class _Loader(yaml.SafeLoader):
    """`SafeLoader` whose value errors (`!!timestamp 2020-13-45`, a 5000-digit int) are YAML errors with a mark."""

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(None, None, f"cannot read {node.tag.rsplit(':', 1)[-1]} value: {exc}", node.start_mark) from None


class _TooBig(Exception):
    """Stops the walk: the document is recursive, too deep, or expands to too many values."""

    def __init__(self, problem: Problem):
        self.problem = problem


@dataclasses.dataclass
class _Walker:
    """Records a mark per key path, and duplicate keys, visiting each value as often as aliases repeat it."""

    file: str
    marks: dict[Path_, Mark] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)
    visited: int = 0

    def walk(self, node: yaml.Node, path: Path_, active: frozenset[int] = frozenset()) -> None:
        m = _mark(self.file, node)
        self.visited += 1
        if id(node) in active:
            raise _TooBig(Problem(dotted(path), "YAML error: an alias refers to the value that contains it (a recursive document)", m.file, m.line, m.column))
        if len(path) > MAX_DEPTH:
            raise _TooBig(Problem(dotted(path[:4]), f"YAML error: nested more than {MAX_DEPTH} levels deep", m.file, m.line, m.column))
        if self.visited > MAX_VALUES:
            raise _TooBig(Problem(dotted(path), f"YAML error: aliases expand to more than {MAX_VALUES} values", m.file, m.line, m.column))
        self.marks[path] = m
        active = active | {id(node)}
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"  # `? [a, b]`: constructing says why not
                if key in seen:
                    k = _mark(self.file, key_node)
                    self.problems.append(Problem(dotted(path + (key,)), f"duplicate key {key!r}", k.file, k.line, k.column))
                seen.add(key)
                self.walk(value_node, path + (key,), active)
                self.marks[path + (key,)] = _mark(self.file, key_node)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self.walk(item, path + (i,), active)


def dotted(path: Path_) -> str:
    return ".".join(str(p) for p in path)


def load_yaml(path: str | Path) -> tuple[Any, dict[Path_, Mark]]:
    """Parse one YAML file safely; return its data and a map from key path to source mark."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise ConfigError([Problem("", "file not found", file)]) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise ConfigError([Problem("", f"cannot read: {exc}", file)]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:  # placed by the offending byte, like any other syntax error
        before = raw[: exc.start]
        line, col = before.count(b"\n") + 1, exc.start - (before.rfind(b"\n") + 1) + 1
        what = f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded ({exc.reason})"
        raise ConfigError([Problem("", what, file, line, col)]) from None
    loader = None
    try:
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is not None:  # before constructing: a recursive alias would construct a recursive value
            walker = _Walker(file)
            walker.walk(node, ())
        data = loader.construct_document(node) if node is not None else None
    except _TooBig as exc:
        raise ConfigError([exc.problem]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or "invalid YAML"
        if isinstance(exc, yaml.constructor.ConstructorError) and "python" in str(exc.problem):
            what = f"{what} (only plain YAML is allowed: tags such as !!python/... are rejected)"
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ConfigError([Problem("", f"YAML error: {what}", file, line, col)]) from None
    except yaml.reader.ReaderError as exc:  # a control character: placed by its offset in the text
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise ConfigError([Problem("", f"YAML error: unacceptable character #x{exc.character:04x}: control characters are not allowed", file, line, col)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"YAML error: {' '.join(str(exc).split())}", file)]) from None
    except RecursionError:  # the parser itself recurses once per nesting level
        raise ConfigError([Problem("", f"YAML error: nested more than {MAX_DEPTH} levels deep", file)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if node is None:
        return data, {}
    if walker.problems:
        raise ConfigError(walker.problems)
    return data, walker.marks
