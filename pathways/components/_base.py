"""The contract every pathway component fulfils, built-in or third-party."""

from __future__ import annotations

import abc
from typing import Any, ClassVar, Literal

import equinox as eqx
import pydantic
from jaxtyping import Array, PRNGKeyArray

from pathways.components._ports import Port

Kind = Literal["encoder", "fusion", "decoder", "head", "adapter"]
KINDS: tuple[str, ...] = ("encoder", "fusion", "decoder", "head", "adapter")


class ComponentConfig(pydantic.BaseModel):
    """Base for component configs: unknown fields are errors, values are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Component(eqx.Module):
    """A pathway: an equinox Module with a pydantic config and typed ports.

    Subclasses set four class attributes and implement three methods:

    - `type_name`: the name configs use (`type: vit_encoder`);
    - `kind`: one of `encoder`, `fusion`, `decoder`, `head`, `adapter`;
    - `Config`: a `ComponentConfig` subclass;
    - `example`: a small valid config (a dict), used by the catalog and contract tests;
    - `ports(cfg)` -> `(inputs, outputs)`, dicts of `Port` that may depend on `cfg`;
    - `__init__(self, cfg, *, key)` allocates parameters;
    - `__call__(self, **inputs)` maps batched input arrays to a dict of outputs.

    Ports are batched: the graph never vmaps a component, so each one sees the
    whole batch and can keep its dense layers on `[B*T, D]` operands.
    """

    type_name: ClassVar[str]
    kind: ClassVar[Kind]
    Config: ClassVar[type[ComponentConfig]]
    example: ClassVar[dict[str, Any]]

    @classmethod
    @abc.abstractmethod
    def ports(cls, cfg: Any) -> tuple[dict[str, Port], dict[str, Port]]:
        """Input and output ports for this config."""

    @abc.abstractmethod
    def __init__(self, cfg: Any, *, key: PRNGKeyArray):
        """Allocate parameters for `cfg`."""

    @abc.abstractmethod
    def __call__(self, **inputs: Any) -> dict[str, Array]:
        """Run on batched inputs; return one array per output port."""

