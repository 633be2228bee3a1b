"""Decoder pathway: a Gemma-style transformer (built-in plugin)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from pathways.components._base import Component, ComponentConfig
from pathways.components._ports import Port
from pathways.nn import Attention, GatedCrossAttention, GeGLU, RMSNorm, Stack, causal_mask
from pathways.plugins import hookimpl


class DecoderBlock(eqx.Module):
    """Gemma block: `x + attn(rmsnorm(x))`, then `x + geglu(rmsnorm(x))`."""

    attn_norm: RMSNorm
    attn: Attention
    mlp_norm: RMSNorm
    mlp: GeGLU

    def __init__(self, cfg: "GemmaDecoder.Config", *, key: PRNGKeyArray):
        ka, km = jr.split(key)
        self.attn_norm = RMSNorm(cfg.width, eps=cfg.norm_eps)
        self.attn = Attention(cfg.width, cfg.heads, cfg.kv_heads, cfg.head_dim, rope_base=cfg.rope_base, key=ka)
        self.mlp_norm = RMSNorm(cfg.width, eps=cfg.norm_eps)
        self.mlp = GeGLU(cfg.width, cfg.mlp_dim, key=km)

    def __call__(
        self, x: Float[Array, "B T D"], *, mask: Bool[Array, "B T T"], positions: Int[Array, "B T"]
    ) -> Float[Array, "B T D"]:
        x = x + self.attn(self.attn_norm(x), mask=mask, positions=positions)
        return x + self.mlp(self.mlp_norm(x))


class GemmaDecoder(Component):
    """Gemma transformer: RMSNorm (1 + w), RoPE, multi-/grouped-query attention, GeGLU.

    With `cross_attention_every: k`, a gated cross-attention block (Flamingo) runs
    before every k-th decoder block, attending to `context`.

    Inputs:  `x [B, T, D]` (embeddings); optional `mask [B, T, T] bool` (default causal,
             an early-fusion prefix-LM mask goes here); optional `positions [B, T] int`
             (default `0..T-1`); optional `token_mask [B, T] bool` (padding keys are
             never attended); `context [B, N, Dc]` and optional `context_mask [B, N]`
             (required when cross-attention is on).
    Outputs: `x [B, T, D]`, after the final RMSNorm.
    """

    type_name = "gemma_decoder"
    kind = "decoder"
    example = {"width": 32, "depth": 2, "heads": 4, "kv_heads": 1, "head_dim": 8, "mlp_dim": 64}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        depth: pydantic.PositiveInt
        heads: pydantic.PositiveInt
        kv_heads: pydantic.PositiveInt = 1
        head_dim: pydantic.PositiveInt = 256
        mlp_dim: pydantic.PositiveInt
        rope_base: pydantic.PositiveFloat = 10_000.0
        norm_eps: pydantic.PositiveFloat = 1e-6
        cross_attention_every: pydantic.PositiveInt | None = None
        context_dim: pydantic.PositiveInt | None = None
        remat: bool = False
        scan_layers: bool = pydantic.Field(True, description="lax.scan over layers (fast compile); false unrolls them (faster steps on CPU)")

        @pydantic.model_validator(mode="after")
        def _check(self):
            if self.heads % self.kv_heads:
                raise ValueError(f"heads {self.heads} is not a multiple of kv_heads {self.kv_heads}")
            if self.head_dim % 2:
                raise ValueError(f"head_dim {self.head_dim} must be even for RoPE")
            if self.cross_attention_every and self.depth % self.cross_attention_every:
                raise ValueError(f"depth {self.depth} is not a multiple of cross_attention_every {self.cross_attention_every}")
            return self

    blocks: Stack
    cross: Stack | None
    final_norm: RMSNorm
    every: int | None = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        D = cfg.width
        inputs = {
            "x": Port(("B", "T", D), "float", "input embeddings"),
            "mask": Port(("B", "T", "T"), "bool", "attention mask (default causal)", optional=True),
            "positions": Port(("B", "T"), "int", "token positions (default 0..T-1)", optional=True),
            "token_mask": Port(("B", "T"), "bool", "real (non-padding) tokens", optional=True),
        }
        if cfg.cross_attention_every:
            inputs["context"] = Port(("B", "N", cfg.context_dim or D), "float", "encoder tokens to cross-attend")
            inputs["context_mask"] = Port(("B", "N"), "bool", "valid encoder tokens", optional=True)
        return inputs, {"x": Port(("B", "T", D), "float", "final hidden states")}

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kb, kc = jr.split(key)
        self.blocks = Stack(lambda k: DecoderBlock(cfg, key=k), cfg.depth, remat=cfg.remat, scan=cfg.scan_layers, key=kb)
        self.every = cfg.cross_attention_every
        self.cross = None
        if self.every:
            make = lambda k: GatedCrossAttention(  # noqa: E731
                cfg.width, cfg.context_dim or cfg.width, cfg.heads, cfg.kv_heads, cfg.head_dim, cfg.mlp_dim, key=k
            )
            self.cross = Stack(make, cfg.depth // self.every, remat=cfg.remat, scan=cfg.scan_layers, key=kc)
        self.final_norm = RMSNorm(cfg.width, eps=cfg.norm_eps)

    def __call__(
        self,
        *,
        x: Float[Array, "B T D"],
        mask: Bool[Array, "B T T"] | None = None,
        positions: Int[Array, "B T"] | None = None,
        token_mask: Bool[Array, "B T"] | None = None,
        context: Float[Array, "B N Dc"] | None = None,
        context_mask: Bool[Array, "B N"] | None = None,
    ) -> dict[str, Array]:
        B, T, _ = x.shape
        if mask is None:
            mask = causal_mask(B, T)
        if token_mask is not None:
            mask = mask & token_mask[:, None, :]
        if positions is None:
            positions = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32), (B, T))
        if self.cross is None:
            x = self.blocks(x, mask=mask, positions=positions)
        else:
            x = self._with_cross_attention(x, mask, positions, context, context_mask)
        return {"x": self.final_norm(x)}

    def _with_cross_attention(self, x, mask, positions, context, context_mask):
        """Scan over groups of `every` blocks, each group led by one gated cross-attention block."""
        groups = self.cross.num
        block_params, block_static = eqx.partition(self.blocks.layers, eqx.is_array)
        block_params = jax.tree.map(lambda a: a.reshape(groups, self.every, *a.shape[1:]), block_params)
        cross_params, cross_static = eqx.partition(self.cross.layers, eqx.is_array)

        def group(x, params):
            cross_p, blocks_p = params
            x = eqx.combine(cross_p, cross_static)(x, context=context, context_mask=context_mask)
            for i in range(self.every):
                block = eqx.combine(jax.tree.map(lambda a: a[i], blocks_p), block_static)
                x = block(x, mask=mask, positions=positions)
            return x, None

        if self.blocks.remat:
            group = jax.checkpoint(group)
        x, _ = jax.lax.scan(group, x, (cross_params, block_params), unroll=not self.blocks.scan)
        return x


@hookimpl
def pathways_register_components():
    return [GemmaDecoder]
