"""Load a config file: safe YAML, `extends` deep-merge, `remove`, pydantic validation."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from pathlib import Path
from typing import Any

import pydantic

from pathways._errors import ConfigDeprecationWarning, ConfigError, Problem
from pathways.config._errors import pydantic_problems
from pathways.config._schema import ModelConfig
from pathways.config._yaml import Mark, Path_, dotted, load_yaml


@dataclasses.dataclass
class LoadedConfig:
    """A validated config plus where each of its values was written."""

    spec: ModelConfig
    path: str
    marks: dict[Path_, Mark]

    def locate(self, problems: list[Problem]) -> list[Problem]:
        """Attach file/line to problems from the nearest enclosing key that has a mark."""
        # Keys compare as text: `where` is dotted text, while YAML keys may be ints (`1: x`).
        by_text = {tuple(str(k) for k in path): m for path, m in self.marks.items()}
        out = []
        for p in problems:
            if p.file is not None:
                out.append(p)
                continue
            parts = tuple(p.where.split(".")) if p.where else ()
            mark = None
            while mark is None and parts:
                mark = by_text.get(parts)
                parts = parts[:-1]
            if mark is None:
                out.append(dataclasses.replace(p, file=self.path))
            else:
                out.append(dataclasses.replace(p, file=mark.file, line=mark.line, column=mark.column))
        return out


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key (recursively); anything else in `override` replaces `base`.

    As in JSON Merge Patch (RFC 7396), a key set to null in `override` is deleted.
    """
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for k, v in override.items():
            if v is None:
                merged.pop(k, None)
            else:
                merged[k] = deep_merge(base[k], v) if k in base else copy.deepcopy(v)
        return merged
    return copy.deepcopy(override)


def _problem(marks: dict[Path_, Mark], key: Path_, message: str, path: Path) -> Problem:
    """A problem at `key`, or at the top of the file when no mark has it (a key that came from a `<<` merge)."""
    m = marks.get(key) or Mark(str(path), 1, 1)
    return Problem(dotted(key), message, m.file, m.line, m.column)


def _resolve(path: Path, chain: tuple[Path, ...]) -> tuple[dict, dict[Path_, Mark]]:
    """Raw merged mapping of `path` and its `extends` ancestors, with merged marks."""
    data, marks = load_yaml(path)
    if data is None:
        raise ConfigError([Problem("", "the file is empty: a config is a YAML mapping (`pathways schema` describes it)", str(path), 1, 1)])
    if not isinstance(data, dict):
        raise ConfigError([Problem("", f"a config must be a mapping, got {type(data).__name__}", str(path), 1, 1)])
    base_ref = data.pop("extends", None)
    remove = data.pop("remove", None) or []
    if base_ref is None:
        if remove:
            raise ConfigError([_problem(marks, ("remove",), "'remove' needs 'extends': there is no base to remove from", path)])
        return data, marks
    if not isinstance(base_ref, str):
        raise ConfigError([_problem(marks, ("extends",), "must be a file path", path)])
    try:
        base_path = (path.parent / base_ref).resolve()
        found, is_dir = base_path.exists(), base_path.is_dir()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        raise ConfigError([_problem(marks, ("extends",), f"base config {base_ref[:80]!r} cannot be opened: {exc}", path)]) from None
    if base_path in chain:
        cycle = " -> ".join(str(p) for p in (*chain, base_path))
        raise ConfigError([_problem(marks, ("extends",), f"extends cycle: {cycle}", path)])
    if not found:
        raise ConfigError([_problem(marks, ("extends",), f"base config {base_ref!r} not found (looked for {base_path})", path)])
    if is_dir:  # `extends: ''` or `extends: ..`
        raise ConfigError([_problem(marks, ("extends",), f"base config {base_ref!r} is a directory ({base_path}), not a config file", path)])
    base, base_marks = _resolve(base_path, (*chain, base_path))
    if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
        raise ConfigError([_problem(marks, ("remove",), "must be a list of pathway names", path)])
    pathways = dict(base.get("pathways") or {}) if isinstance(base.get("pathways") or {}, dict) else {}
    for i, name in enumerate(remove):
        if name not in pathways:
            known = ", ".join(pathways) or "none"
            key = ("remove", i) if ("remove", i) in marks else ("remove",)
            raise ConfigError([dataclasses.replace(_problem(marks, key, f"{name!r} is not a pathway of the base config (pathways: {known})", path), where=f"remove.{i}")])
        del pathways[name]
    if isinstance(base.get("pathways") or {}, dict):  # otherwise validation names what the base has there
        base = {**base, "pathways": pathways}
    if isinstance(base.get("outputs"), list):
        base["outputs"] = [o for o in base["outputs"] if str(o).split(".")[0] not in remove]
    merged = deep_merge(base, data)
    all_marks = {k: v for k, v in base_marks.items() if not (len(k) > 1 and k[0] == "pathways" and k[1] in remove)}
    all_marks.update(marks)
    return merged, all_marks


def load_config(path: str | Path, *, stored: bool = False) -> LoadedConfig:
    """Load and validate the schema of a config file (components are checked by `validate`).

    `stored`: a config a checkpoint holds, which its user did not write; old spellings load silently.
    """
    path = Path(path)
    full = str(path.resolve())
    try:
        raw, marks = _resolve(path.resolve(), (path.resolve(),))
    except ConfigError as exc:  # report the top file as the user named it
        raise ConfigError([dataclasses.replace(p, file=str(path)) if p.file == full else p for p in exc.problems]) from None
    marks = {k: (Mark(str(path), m.line, m.column) if m.file == full else m) for k, m in marks.items()}
    loaded = LoadedConfig(spec=None, path=str(path), marks=marks)  # type: ignore[arg-type]
    try:
        loaded.spec = ModelConfig.model_validate(raw)
    except pydantic.ValidationError as exc:
        raise ConfigError(loaded.locate(pydantic_problems(exc, (), ModelConfig))) from None
    if not stored:
        _deprecations(raw, loaded)
    return loaded


def _deprecations(raw: dict, loaded: LoadedConfig) -> None:
    """One warning line per deprecated spelling that `raw` uses (it was translated on validation)."""
    train = raw.get("train")
    if isinstance(train, dict) and isinstance(train.get("lora"), dict):
        lora = train["lora"]
        new = f"train.trainable: [{lora.get('pathway')}] with train.adapter: {{type: lora, config: {{rank: {lora.get('rank', 8)}, alpha: {lora.get('alpha', 16.0)}}}}}"
        (problem,) = loaded.locate([Problem("train.lora", f"is deprecated: write {new}")])
        warnings.warn(str(problem), ConfigDeprecationWarning, stacklevel=3)


def resolved_yaml(loaded: LoadedConfig) -> dict:
    """The fully merged config as plain data (what a checkpoint records)."""
    return loaded.spec.model_dump(exclude={"extends", "remove"}, exclude_none=True)
