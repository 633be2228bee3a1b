"""Connector pathways: projectors carrying image tokens to a decoder's width (built-in plugin)."""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
import pydantic
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import Cost
from pathways.components._ports import Port
from pathways.nn import Linear, RMSNorm, count_params


class LinearProjector(Component):
    """One dense layer per token (PaliGemma's multi-modal projector, LLaVA's simplest).

    Inputs:  `tokens [B, N, in_dim]`, optional `mask [B, N] bool`.
    Outputs: `tokens [B, N, out_dim]`, `mask [B, N] bool` (passed through, all True without one).
    """

    type_name = "linear_projector"
    kind = "connector"
    example = {"in_dim": 16, "out_dim": 32}

    class Config(ComponentConfig):
        in_dim: pydantic.PositiveInt
        out_dim: pydantic.PositiveInt
        bias: bool = True

    proj: Linear

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {
            "tokens": Port(("B", "N", cfg.in_dim), "float", "encoder tokens"),
            "mask": Port(("B", "N"), "bool", "valid tokens", optional=True),
        }
        outputs = {"tokens": Port(("B", "N", cfg.out_dim), "float", "projected tokens"), "mask": Port(("B", "N"), "bool", "valid tokens")}
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        self.proj = Linear(cfg.in_dim, cfg.out_dim, use_bias=cfg.bias, key=key)

    @classmethod
    def cost(cls, cfg, module, shapes):
        n = shapes["tokens"][1]
        return Cost(tokens=n, forward_flops=float(2 * n * count_params(module)))

    def __call__(self, *, tokens: Float[Array, "B N Di"], mask: Bool[Array, "B N"] | None = None) -> dict[str, Array]:
        return {"tokens": self.proj(tokens), "mask": jnp.ones(tokens.shape[:2], dtype=bool) if mask is None else mask}


class PoolingProjector(Component):
    """Gemma 3's multi-modal projector: average-pool the patch grid, RMSNorm, one dense layer.

    The `input_tokens` patches form a square grid (row-major, as a ViT emits them);
    non-overlapping windows average it down to `output_tokens` (a square count too),
    which are RMS-normalised (`1 + w` scale) and projected without bias.

    Inputs:  `tokens [B, input_tokens, in_dim]`.
    Outputs: `tokens [B, output_tokens, out_dim]`, `mask [B, output_tokens] bool` (all True).
    """

    type_name = "pooling_projector"
    kind = "connector"
    example = {"in_dim": 16, "out_dim": 32, "input_tokens": 16, "output_tokens": 4}

    class Config(ComponentConfig):
        in_dim: pydantic.PositiveInt
        out_dim: pydantic.PositiveInt
        input_tokens: pydantic.PositiveInt = pydantic.Field(description="patches per image (a square number)")
        output_tokens: pydantic.PositiveInt = pydantic.Field(256, description="tokens per image after pooling (a square number)")
        norm_eps: pydantic.PositiveFloat = 1e-6

        @pydantic.model_validator(mode="after")
        def _check(self):
            side, out = math.isqrt(self.input_tokens), math.isqrt(self.output_tokens)
            if side * side != self.input_tokens:
                raise ValueError(f"input_tokens {self.input_tokens} is not a square number (a square patch grid)")
            if out * out != self.output_tokens:
                raise ValueError(f"output_tokens {self.output_tokens} is not a square number")
            if side % out:
                raise ValueError(f"a {side}x{side} patch grid does not pool evenly to {out}x{out} tokens")
            return self

    norm: RMSNorm
    proj: Linear
    side: int = eqx.field(static=True)
    out_side: int = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {"tokens": Port(("B", cfg.input_tokens, cfg.in_dim), "float", "patch tokens of a square grid")}
        outputs = {
            "tokens": Port(("B", cfg.output_tokens, cfg.out_dim), "float", "pooled, normalised, projected tokens"),
            "mask": Port(("B", cfg.output_tokens), "bool", "valid tokens (all True)"),
        }
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        self.norm = RMSNorm(cfg.in_dim, eps=cfg.norm_eps)
        self.proj = Linear(cfg.in_dim, cfg.out_dim, key=key)
        self.side, self.out_side = math.isqrt(cfg.input_tokens), math.isqrt(cfg.output_tokens)

    @classmethod
    def cost(cls, cfg, module, shapes):
        return Cost(tokens=cfg.output_tokens, forward_flops=float(2 * cfg.output_tokens * count_params(module.proj)))

    def __call__(self, *, tokens: Float[Array, "B N Di"]) -> dict[str, Array]:
        B, _, D = tokens.shape
        s, k = self.out_side, self.side // self.out_side
        grid = tokens.reshape(B, s, k, s, k, D).astype(jnp.float32)
        pooled = grid.mean(axis=(2, 4)).reshape(B, s * s, D).astype(tokens.dtype)  # [B, M, D]
        out = self.proj(self.norm(pooled))
        return {"tokens": out, "mask": jnp.ones(out.shape[:2], dtype=bool)}


@hookimpl
def pathways_register_components():
    return [LinearProjector, PoolingProjector]
