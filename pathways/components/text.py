"""Text pathway: token embedding (built-in plugin)."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Float, Int, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import Cost
from pathways.components._ports import Port


class TokenEmbedding(Component):
    """Token ids to vectors, scaled by `sqrt(width)` as in Gemma.

    Inputs:  `tokens [B, T] int`.
    Outputs: `embeddings [B, T, D]`, `mask [B, T] bool` (token != pad_id) and
    `table [V, D]`, the embedding matrix itself, which a tied LM head takes as input.
    """

    type_name = "token_embedding"
    kind = "encoder"
    roles = frozenset({"token_embedding"})
    example = {"vocab_size": 256, "width": 32}

    class Config(ComponentConfig):
        vocab_size: pydantic.PositiveInt
        width: pydantic.PositiveInt
        pad_id: int = 0

    weight: Float[Array, "V D"]
    pad_id: int = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {"tokens": Port(("B", "T"), "int", "token ids")}
        outputs = {
            "embeddings": Port(("B", "T", cfg.width), "float", "scaled token embeddings"),
            "mask": Port(("B", "T"), "bool", "True where the token is not padding"),
            "table": Port((cfg.vocab_size, cfg.width), "float", "embedding matrix, for tied heads"),
        }
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        self.weight = jr.normal(key, (cfg.vocab_size, cfg.width)) / math.sqrt(cfg.width)
        self.pad_id = cfg.pad_id

    @classmethod
    def cost(cls, cfg, module, shapes):
        return Cost(tokens=shapes["tokens"][1], forward_flops=0.0, embedding_params=module.weight.size)

    def __call__(self, *, tokens: Int[Array, "B T"]) -> dict[str, Array]:
        width = self.weight.shape[1]
        emb = jnp.take(self.weight, tokens, axis=0)  # [B, T, D]
        emb = emb * jnp.asarray(math.sqrt(width), emb.dtype)
        return {"embeddings": emb, "mask": tokens != self.pad_id, "table": self.weight}


@hookimpl
def pathways_register_components():
    return [TokenEmbedding]
