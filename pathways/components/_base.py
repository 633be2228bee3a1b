"""The contract every pathway component fulfils, built-in or third-party."""

from __future__ import annotations

import abc
from pathlib import Path
from typing import Any, ClassVar, Literal, Mapping

import equinox as eqx
import numpy as np
import pydantic
from jaxtyping import Array, PRNGKeyArray

from pathways.components._cost import Cost
from pathways.components._ports import Port
from pathways.components._roles import Media

Kind = Literal["encoder", "fusion", "decoder", "head", "connector"]
KINDS: tuple[str, ...] = ("encoder", "fusion", "decoder", "head", "connector")
# What `connector` (a pathway that carries one pathway's tokens to another: a projector, a resampler)
# was called before "adapter" came to mean only the weight transforms of `pathways.adapters`.
RENAMED_KINDS = {"adapter": "connector"}


class ComponentConfig(pydantic.BaseModel):
    """Base for component configs: unknown fields are errors, values are immutable."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Component(eqx.Module):
    """A pathway: an equinox Module with a pydantic config and typed ports.

    Subclasses set four class attributes and implement three methods:

    - `type_name`: the name configs use (`type: vit_encoder`);
    - `kind`: one of `encoder`, `fusion`, `decoder`, `head`, `connector` (a projector or
      resampler between pathways);
    - `Config`: a `ComponentConfig` subclass;
    - `example`: a small valid config (a dict), used by the catalog and contract tests;
    - `ports(cfg)` -> `(inputs, outputs)`, dicts of `Port` that may depend on `cfg`;
    - `__init__(self, cfg, *, key)` allocates parameters;
    - `__call__(self, **inputs)` maps batched input arrays to a dict of outputs.

    What the runtime needs to know beyond the ports is declared, not inferred
    from the type name (see `pathways.components._roles`):

    - `roles`: e.g. `{"cached_decoder"}`, `{"token_embedding"}`, `{"lm_head"}`;
    - `media`: input port -> `Media("image")`, for inputs that carry a modality;
    - `read_media(cfg, port, path)` reads a file for such an input (a prompt's image);
    - `cost(cfg, module, shapes)` counts its FLOPs for `pathways plan`.

    Ports are batched: the graph never vmaps a component, so each one sees the
    whole batch and can keep its dense layers on `[B*T, D]` operands.
    """

    type_name: ClassVar[str]
    kind: ClassVar[Kind]
    Config: ClassVar[type[ComponentConfig]]
    example: ClassVar[dict[str, Any]]
    roles: ClassVar[frozenset[str]] = frozenset()
    media: ClassVar[Mapping[str, Media]] = {}

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

    @classmethod
    def read_media(cls, cfg: Any, port: str, path: str | Path) -> dict[str, np.ndarray]:
        """One example for media input `port`, read from a file (for `generate`): input port -> array.

        The result holds `port` and, where its `Media` names one, the mask port. The
        default reads a NumPy `.npy` array of the port's shape without its batch axis;
        image and audio encoders read image and WAV files. Raise `MediaError` for a
        file that cannot be used.
        """
        return {port: np.load(path, allow_pickle=False)}

    @classmethod
    def cost(cls, cfg: Any, module: "Component", shapes: Mapping[str, Any]) -> Cost | None:
        """Tokens and forward FLOPs of one example, given the shapes wired into each input.

        None (the default) lets `pathways plan` estimate `2 x params x tokens`, flagged as estimated.
        """
        return None
