"""The contract of an adapter: a weight transform that trains in place of a pathway's own weights.

A pathway says *which* part of the graph trains (`train.trainable`, `--pathway`); an adapter
says *how*: `train.adapter: {type: lora, config: {rank: 8}}` wraps each selected pathway with
`apply`, trains only the leaves `trainable` marks, and `merge` folds them back for export.
(A component of `kind: connector`, a projector or resampler, is something else: a pathway in the graph.)
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import pydantic
from jaxtyping import PRNGKeyArray


class AdapterConfig(pydantic.BaseModel):
    """Base for adapter configs: unknown fields are errors, values are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Adapter(abc.ABC):
    """Subclasses set `type_name` and `Config` and implement three static methods.

    - `apply(module, cfg, *, key)`: the pathway `module` with the adapter's parameters added;
      at initialisation it must compute exactly what `module` does;
    - `trainable(module)`: a filter tree over the adapted module, True on the adapter's own
      leaves only (the pathway's weights stay frozen: no gradients, no optimizer state);
    - `merge(module)`: the adapted module folded back into the original structure.
    """

    type_name: ClassVar[str]
    Config: ClassVar[type[AdapterConfig]] = AdapterConfig

    @staticmethod
    @abc.abstractmethod
    def apply(module: Any, cfg: AdapterConfig, *, key: PRNGKeyArray) -> Any: ...

    @staticmethod
    @abc.abstractmethod
    def trainable(module: Any) -> Any: ...

    @staticmethod
    @abc.abstractmethod
    def merge(module: Any) -> Any: ...


def check_adapter(cls: type) -> str | None:
    """Why `cls` cannot be registered as an adapter (None when it can)."""
    if not (isinstance(cls.__dict__.get("Config", AdapterConfig), type) and issubclass(cls.Config, pydantic.BaseModel)):
        return f"{cls.__qualname__}.Config is not a pydantic model"
    missing = sorted(getattr(cls, "__abstractmethods__", ()))
    return f"{cls.__qualname__} does not define {', '.join(missing)}" if missing else None
