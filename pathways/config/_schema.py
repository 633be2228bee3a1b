"""The config file's schema: pydantic models, unknown fields rejected everywhere."""

from __future__ import annotations

import re
from typing import Any

import pydantic

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
RESERVED = frozenset({"batch"})


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")


class FieldSpec(_Strict):
    """One batch field: its shape (ints or names from `dims`) and dtype."""

    shape: list[int | str]
    dtype: str = "float32"


class PathwaySpec(_Strict):
    """One node of the graph.

    `type` is a registered component name (see `pathways plugins`); `config` is
    validated by that component's own config model; `inputs` maps each input
    port to a reference `batch.FIELD` or `PATHWAY.PORT` (or a list of them, for
    a port that takes several).
    """

    type: str
    config: dict[str, Any] = {}
    inputs: dict[str, str | list[str]] = {}


class ModelConfig(_Strict):
    """A Pathways model config file."""

    extends: str | None = pydantic.Field(None, description="base config to deep-merge this file onto (path relative to this file)")
    remove: list[str] = pydantic.Field([], description="pathways of the base config to drop")
    name: str = "model"
    description: str = ""
    dims: dict[str, pydantic.PositiveInt] = pydantic.Field(
        {}, description="sizes of the symbolic dimensions used in batch shapes (e.g. B, T), for validation"
    )
    batch: dict[str, FieldSpec] = pydantic.Field(description="fields every batch holds, with shapes and dtypes")
    pathways: dict[str, PathwaySpec] = pydantic.Field(description="the graph's nodes, by name")
    outputs: list[str] | None = pydantic.Field(
        None, description="PATHWAY.PORT values the model returns (default: every output of every pathway nothing consumes)"
    )

    @pydantic.field_validator("pathways")
    @classmethod
    def _names(cls, pathways: dict[str, PathwaySpec]):
        for name in pathways:
            if not NAME.match(name) or name in RESERVED:
                raise ValueError(f"{name!r} is not a valid pathway name (letters, digits, _ and -; not 'batch')")
        return pathways
