"""Task heads: language-model head and pooled classification head (built-in plugin)."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import pydantic
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import Cost
from pathways.components._ports import Port
from pathways.nn import Linear, count_params


class LMHead(Component):
    """Next-token logits, float32.

    Untied: its own `weight [D, V]`. Tied (`tied: true`): no parameters of its own;
    it takes the text pathway's embedding matrix through the `embedding` input
    (wire it to `text.table`) and computes `x @ table^T`. The shared matrix belongs
    to the text pathway: training the text pathway trains both uses, and a tied head
    has nothing to train by itself.

    Inputs:  `x [B, T, D]`; `embedding [V, D]` when tied.
    Outputs: `logits [B, T, V] float32`.
    """

    type_name = "lm_head"
    kind = "head"
    roles = frozenset({"lm_head"})
    example = {"vocab_size": 256, "width": 32, "tied": True}

    class Config(ComponentConfig):
        vocab_size: pydantic.PositiveInt
        width: pydantic.PositiveInt
        tied: bool = False
        softcap: pydantic.PositiveFloat | None = None

    weight: Float[Array, "D V"] | None
    softcap: float | None = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {"x": Port(("B", "T", cfg.width), "float", "decoder hidden states")}
        if cfg.tied:
            inputs["embedding"] = Port((cfg.vocab_size, cfg.width), "float", "tied embedding matrix (text.table)")
        return inputs, {"logits": Port(("B", "T", cfg.vocab_size), "float32", "next-token logits")}

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        self.weight = None if cfg.tied else Linear(cfg.width, cfg.vocab_size, key=key).weight
        self.softcap = cfg.softcap

    @classmethod
    def cost(cls, cfg, module, shapes):
        s = shapes["x"][1]
        return Cost(tokens=s, forward_flops=float(2 * cfg.width * cfg.vocab_size * s))

    def __call__(self, *, x: Float[Array, "B T D"], embedding: Float[Array, "V D"] | None = None) -> dict[str, Array]:
        B, T, D = x.shape
        w = embedding.T if self.weight is None else self.weight  # [D, V]
        logits = (x.reshape(B * T, D) @ w.astype(x.dtype)).astype(jnp.float32)  # [B*T, V]
        if self.softcap is not None:
            logits = self.softcap * jnp.tanh(logits / self.softcap)
        return {"logits": logits.reshape(B, T, -1)}


class ClassifierHead(Component):
    """Pool a sequence and classify it.

    `pool`: `mean` over real tokens, `first` token, or `last` real token (wherever the padding is).
    Inputs:  `x [B, T, D]`, optional `mask [B, T] bool` (real tokens).
    Outputs: `logits [B, num_classes] float32`.
    """

    type_name = "classifier_head"
    kind = "head"
    example = {"width": 32, "num_classes": 10}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        num_classes: pydantic.PositiveInt
        pool: Literal["mean", "first", "last"] = "mean"

    proj: Linear
    pool: str = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {
            "x": Port(("B", "T", cfg.width), "float", "sequence to pool"),
            "mask": Port(("B", "T"), "bool", "real tokens", optional=True),
        }
        return inputs, {"logits": Port(("B", cfg.num_classes), "float32", "class logits")}

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        self.proj = Linear(cfg.width, cfg.num_classes, use_bias=True, key=key)
        self.pool = cfg.pool

    @classmethod
    def cost(cls, cfg, module, shapes):
        return Cost(tokens=shapes["x"][1], forward_flops=float(2 * count_params(module)))

    def __call__(self, *, x: Float[Array, "B T D"], mask: Bool[Array, "B T"] | None = None) -> dict[str, Array]:
        B, T, _ = x.shape
        if mask is None:
            mask = jnp.ones((B, T), dtype=bool)
        if self.pool == "mean":
            w = mask.astype(x.dtype)[:, :, None]
            pooled = jnp.sum(x * w, axis=1) / jnp.maximum(jnp.sum(w, axis=1), 1.0)  # [B, D]
        elif self.pool == "first":
            pooled = x[:, 0]
        else:
            last = T - 1 - jnp.argmax(mask[:, ::-1], axis=1)  # [B], last True (any padding side)
            last = jnp.where(jnp.any(mask, axis=1), last, 0)
            pooled = jnp.take_along_axis(x, last[:, None, None], axis=1)[:, 0]
        return {"logits": self.proj(pooled).astype(jnp.float32)}


@hookimpl
def pathways_register_components():
    return [LMHead, ClassifierHead]
