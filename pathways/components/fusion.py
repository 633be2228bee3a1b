"""Fusion pathways: early fusion (one prefix-LM sequence) and late fusion (gated cross-attention)."""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import pydantic
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import Blocks, Cost, cross_attention_flops
from pathways.components._ports import Port
from pathways.nn import GatedCrossAttention, count_params


def prefix_lm_mask(valid: Bool[Array, "B S"], is_prefix: Bool[Array, " S"]) -> Bool[Array, "B S S"]:
    """`mask[b, i, j]`: key `j` is real and either `j <= i` or both `i` and `j` are in the prefix."""
    return block_mask(valid, jnp.where(is_prefix, 0, -1)[None, :])


def block_mask(valid: Bool[Array, "B S"], blocks: Int[Array, "B S"]) -> Bool[Array, "B S S"]:
    """Causal attention, plus bidirectional attention within each block.

    `mask[b, i, j]`: key `j` is real, and `j <= i` or `blocks[b, i] == blocks[b, j] >= 0`
    (`-1` marks a position in no block). One block over the image and the prompt is
    PaliGemma's prefix-LM mask; one block per image is Gemma 3's.
    """
    S = valid.shape[1]
    causal = jnp.tril(jnp.ones((S, S), dtype=bool))[None]
    same = (blocks[:, :, None] == blocks[:, None, :]) & (blocks[:, :, None] >= 0)
    return (causal | same) & valid[:, None, :]


class EarlyFusion(Component):
    """Concatenate modality token sequences before the text: `[prefix_0, ..., prefix_k, text]`.

    Inputs:  `prefix` (one or more `[B, N_i, D]`, in order), optional `prefix_mask`
             (as many `[B, N_i] bool`), `text [B, T, D]`, optional `text_mask [B, T] bool`,
             optional `text_prefix [B, T] bool` (text tokens that join the bidirectional
             prefix: PaliGemma's prompt, HF `token_type_ids == 0`).
    Outputs, with `S = sum(N_i) + T`:
      `x [B, S, D]`; `mask [B, S, S] bool`, causal over text, padding never attended,
      and bidirectional over the modality prefix: with `prefix_attention: joint` over
      all prefixes and the text prefix together (PaliGemma's prefix-LM), with
      `per_prefix` within each prefix alone (Gemma 3: each image's tokens);
      `positions [B, S] int32` counting real tokens only, from `first_position`
      (PaliGemma's are 1-based); `segment_ids [B, S] int32` (`i` for prefix `i`,
      `k + 1` for text); `token_mask [B, S] bool` (real tokens).
    The text occupies the last `T` positions, so logits for text are `logits[:, -T:]`.
    """

    type_name = "early_fusion"
    kind = "fusion"
    roles = frozenset({"early_fusion"})
    example = {"width": 32}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        prefix_attention: Literal["joint", "per_prefix"] = pydantic.Field(
            "joint", description="bidirectional over all prefixes together (PaliGemma) or within each one (Gemma 3)"
        )
        first_position: pydantic.NonNegativeInt = pydantic.Field(0, description="position of the first real token (PaliGemma: 1)")

    @classmethod
    def ports(cls, cfg: Config):
        D = cfg.width
        inputs = {
            "prefix": Port(("B", "N", D), "float", "modality token sequences, in order", variadic=True),
            "prefix_mask": Port(("B", "N"), "bool", "their valid-token masks", optional=True, variadic=True),
            "text": Port(("B", "T", D), "float", "text embeddings"),
            "text_mask": Port(("B", "T"), "bool", "text padding mask", optional=True),
            "text_prefix": Port(("B", "T"), "bool", "text tokens attended bidirectionally with the prefix", optional=True),
        }
        outputs = {
            "x": Port(("B", "S", D), "float", "fused sequence"),
            "mask": Port(("B", "S", "S"), "bool", "prefix-LM attention mask"),
            "positions": Port(("B", "S"), "int32", "positions of real tokens"),
            "segment_ids": Port(("B", "S"), "int32", "which input each position came from"),
            "token_mask": Port(("B", "S"), "bool", "real (non-padding) positions"),
        }
        return inputs, outputs

    joint: bool = eqx.field(static=True)
    first_position: int = eqx.field(static=True)

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        del key  # no parameters
        self.joint = cfg.prefix_attention == "joint"
        self.first_position = cfg.first_position

    @classmethod
    def cost(cls, cfg, module, shapes):
        tokens = sum(s[1] for s in shapes["prefix"]) + shapes["text"][1]
        return Cost(tokens=tokens, forward_flops=0.0)  # concatenation only

    def __call__(
        self,
        *,
        prefix: tuple[Float[Array, "B N D"], ...],
        text: Float[Array, "B T D"],
        prefix_mask: tuple[Bool[Array, "B N"], ...] | None = None,
        text_mask: Bool[Array, "B T"] | None = None,
        text_prefix: Bool[Array, "B T"] | None = None,
    ) -> dict[str, Array]:
        B, T, _ = text.shape
        if prefix_mask is None:
            prefix_mask = tuple(jnp.ones(p.shape[:2], dtype=bool) for p in prefix)
        if len(prefix_mask) != len(prefix):
            raise ValueError(f"early_fusion got {len(prefix)} prefixes but {len(prefix_mask)} prefix masks")
        if text_mask is None:
            text_mask = jnp.ones((B, T), dtype=bool)
        x = jnp.concatenate([*(p.astype(text.dtype) for p in prefix), text], axis=1)  # [B, S, D]
        valid = jnp.concatenate([*prefix_mask, text_mask], axis=1)  # [B, S]
        segments = jnp.concatenate(
            [jnp.full(p.shape[1], i, jnp.int32) for i, p in enumerate(prefix)] + [jnp.full(T, len(prefix), jnp.int32)]
        )  # [S]
        k = len(prefix)
        blocks = jnp.where(segments < k, 0 if self.joint else segments, -1)  # [S]
        blocks = jnp.broadcast_to(blocks, (B, x.shape[1]))
        if text_prefix is not None:  # the prompt joins the image block (per_prefix: a block of its own)
            blocks = blocks.at[:, -T:].set(jnp.where(text_prefix, 0 if self.joint else k, -1))
        positions = jnp.maximum(jnp.cumsum(valid, axis=1) - 1, 0).astype(jnp.int32) + self.first_position
        return {
            "x": x,
            "mask": block_mask(valid, blocks),
            "positions": positions,
            "segment_ids": jnp.broadcast_to(segments, (B, x.shape[1])),
            "token_mask": valid,
        }


class LateFusion(Component):
    """Flamingo-style gated cross-attention from a text stream into encoder outputs.

    Inputs:  `x [B, T, D]`, `context [B, N, Dc]`, optional `context_mask [B, N] bool`.
    Outputs: `x [B, T, D]`. The tanh gates start at 0: at initialisation the output equals `x`.
    """

    type_name = "late_fusion"
    kind = "fusion"
    roles = frozenset({"late_fusion"})
    example = {"width": 32, "context_dim": 16, "heads": 2, "head_dim": 8}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        context_dim: pydantic.PositiveInt | None = None
        heads: pydantic.PositiveInt = 8
        kv_heads: pydantic.PositiveInt | None = None
        head_dim: pydantic.PositiveInt = 64
        mlp_dim: pydantic.PositiveInt | None = None

    block: GatedCrossAttention

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {
            "x": Port(("B", "T", cfg.width), "float", "text stream"),
            "context": Port(("B", "N", cfg.context_dim or cfg.width), "float", "encoder tokens"),
            "context_mask": Port(("B", "N"), "bool", "valid encoder tokens", optional=True),
        }
        return inputs, {"x": Port(("B", "T", cfg.width), "float", "text stream with context mixed in")}

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        self.block = GatedCrossAttention(
            cfg.width,
            cfg.context_dim or cfg.width,
            cfg.heads,
            cfg.kv_heads or cfg.heads,
            cfg.head_dim,
            cfg.mlp_dim or 4 * cfg.width,
            key=key,
        )

    @classmethod
    def cost(cls, cfg, module, shapes):
        t, n = shapes["x"][1], shapes["context"][1]
        attn = module.block.attn
        kv = count_params(attn.k_proj) + count_params(attn.v_proj)
        flops = cross_attention_flops(count_params(module), kv, 1, t, n, cfg.heads * cfg.head_dim)
        return Cost(tokens=t, forward_flops=flops, blocks=(Blocks(1, t, cfg.width, cfg.heads, count_params(module)),))

    def __call__(self, *, x, context, context_mask=None) -> dict[str, Array]:
        return {"x": self.block(x, context=context, context_mask=context_mask)}

    def context_keys_values(self, context):
        """Cross-attention keys/values of `context`: computed once per prompt when generating."""
        return self.block.context_keys_values(context)

    def decode(self, *, x, context_kv, context_mask=None) -> Array:
        """The block on new tokens `x [B, 1, D]` with precomputed context keys/values."""
        return self.block(x, context_kv=context_kv, context_mask=context_mask)


@hookimpl
def pathways_register_components():
    return [EarlyFusion, LateFusion]
