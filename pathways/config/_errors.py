"""Turn pydantic validation errors into one `Problem` per line, with suggestions."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

import pydantic

from pathways._errors import Problem
from pathways.config._yaml import Path_, dotted


def _model_at(model: Any, loc: tuple) -> type[pydantic.BaseModel] | None:
    """The pydantic model that owns the last key of `loc`, following dict values and fields."""
    for part in loc:
        if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
            field = model.model_fields.get(part)
            if field is None:
                return None
            model = field.annotation
        else:
            origin = typing.get_origin(model)
            if origin in (dict, typing.Union, types.UnionType, list):
                args = [a for a in typing.get_args(model) if a is not type(None)]
                model = args[-1] if args else None
            else:
                return None
        while typing.get_origin(model) in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(model) if a is not type(None)]
            model = args[0] if len(args) == 1 else model
            if len(args) != 1:
                break
    return model if isinstance(model, type) and issubclass(model, pydantic.BaseModel) else None


def _short(value: Any, limit: int = 80) -> str:
    """`repr(value)`, cut to `limit` characters: a 400-digit number or a pasted essay stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def pydantic_problems(exc: pydantic.ValidationError, prefix: Path_, model: type[pydantic.BaseModel]) -> list[Problem]:
    """One `Problem` per pydantic error, placed at `prefix + loc`."""
    problems = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            owner = _model_at(model, loc[:-1])
            known = sorted(owner.model_fields) if owner else []
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = f"unknown field {loc[-1]!r}"
            if close:
                msg += f"; did you mean {close[0]!r}?"
            if known:
                msg += f" (fields: {', '.join(known)})"
        elif err["type"] == "missing":
            msg = "required field is missing"
        elif err["type"] == "value_error":  # our own validators' messages name the value already
            msg = msg.removeprefix("Value error, ")
        elif "input" in err and not isinstance(err["input"], (dict, list)):
            msg = f"{msg} (got {_short(err['input'])})"
        # Drop pydantic's union-member tags (`str`, `list[str]`) from the location.
        loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in {"str", "int", "function-after"})))
        problems.append(Problem(dotted(prefix + loc), msg))
    return problems
