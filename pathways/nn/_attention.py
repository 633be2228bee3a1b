"""Multi-head attention with grouped key/value heads (MHA, GQA and MQA in one class).

Shapes: queries come from `x [B, T, D]`; keys and values from `context [B, S, D]`
(`context = x` for self-attention). `num_heads` query heads share `num_kv_heads`
key/value heads in groups of `G = num_heads // num_kv_heads`.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from pathways.nn._linear import Linear
from pathways.nn._rope import apply_rope


def causal_mask(batch: int, length: int) -> Bool[Array, "B T T"]:
    """`mask[b, i, j]` is True where query `i` may attend to key `j <= i`."""
    tri = jnp.tril(jnp.ones((length, length), dtype=bool))
    return jnp.broadcast_to(tri, (batch, length, length))


def dot_product_attention(
    q: Float[Array, "B T K G hd"],
    k: Float[Array, "B S K hd"],
    v: Float[Array, "B S K hd"],
    mask: Bool[Array, "B T S"] | None,
) -> Float[Array, "B T K G hd"]:
    """Softmax attention in float32, masked positions set to the dtype's minimum."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    logits = jnp.einsum("btkgh,bskh->bkgts", q, k, preferred_element_type=jnp.float32) * scale
    if mask is not None:
        logits = jnp.where(mask[:, None, None, :, :], logits, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(logits, axis=-1).astype(v.dtype)  # [B, K, G, T, S]
    return jnp.einsum("bkgts,bskh->btkgh", probs, v)


class Attention(eqx.Module):
    """Projections plus `dot_product_attention`, with optional RoPE on queries and keys."""

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    o_proj: Linear
    num_heads: int = eqx.field(static=True)
    num_kv_heads: int = eqx.field(static=True)
    head_dim: int = eqx.field(static=True)
    rope_base: float | None = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        num_heads: int,
        num_kv_heads: int,
        head_dim: int,
        *,
        context_dim: int | None = None,
        rope_base: float | None = None,
        use_bias: bool = False,
        key: PRNGKeyArray,
    ):
        if num_heads % num_kv_heads:
            raise ValueError(f"num_heads={num_heads} is not a multiple of num_kv_heads={num_kv_heads}")
        context_dim = dim if context_dim is None else context_dim
        kq, kk, kv, ko = jr.split(key, 4)
        self.q_proj = Linear(dim, num_heads * head_dim, use_bias=use_bias, key=kq)
        self.k_proj = Linear(context_dim, num_kv_heads * head_dim, use_bias=use_bias, key=kk)
        self.v_proj = Linear(context_dim, num_kv_heads * head_dim, use_bias=use_bias, key=kv)
        self.o_proj = Linear(num_heads * head_dim, dim, use_bias=use_bias, key=ko)
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads
        self.head_dim = head_dim
        self.rope_base = rope_base

    def __call__(
        self,
        x: Float[Array, "B T D"],
        *,
        context: Float[Array, "B S Dc"] | None = None,
        mask: Bool[Array, "B T S"] | None = None,
        positions: Int[Array, "B T"] | None = None,
        context_positions: Int[Array, "B S"] | None = None,
    ) -> Float[Array, "B T D"]:
        B, T, _ = x.shape
        src = x if context is None else context
        S = src.shape[1]
        if self.rope_base is not None:
            if positions is None:
                positions = jnp.broadcast_to(jnp.arange(T), (B, T))
            if context_positions is None:
                context_positions = positions if context is None else jnp.broadcast_to(jnp.arange(S), (B, S))
        k, v = self.keys_values(src, context_positions)
        return self.attend(self.queries(x, positions), k, v, mask)

    def queries(self, x: Float[Array, "B T D"], positions: Int[Array, "B T"] | None) -> Float[Array, "B T K G hd"]:
        """Projected (and, with RoPE, rotated) queries, grouped by key/value head."""
        B, T, _ = x.shape
        K, G, hd = self.num_kv_heads, self.num_heads // self.num_kv_heads, self.head_dim
        q = self.q_proj(x).reshape(B, T, K * G, hd)
        if self.rope_base is not None:
            q = apply_rope(q, positions, base=self.rope_base)
        return q.reshape(B, T, K, G, hd)

    def keys_values(self, src: Float[Array, "B S Dc"], positions: Int[Array, "B S"] | None) -> tuple[Array, Array]:
        """Projected keys (rotated with RoPE) and values `[B, S, K, hd]`: what a KV cache stores."""
        B, S, _ = src.shape
        k = self.k_proj(src).reshape(B, S, self.num_kv_heads, self.head_dim)
        v = self.v_proj(src).reshape(B, S, self.num_kv_heads, self.head_dim)
        if self.rope_base is not None:
            k = apply_rope(k, positions, base=self.rope_base)
        return k, v

    def attend(self, q: Float[Array, "B T K G hd"], k, v, mask: Bool[Array, "B T S"] | None) -> Float[Array, "B T D"]:
        """Attention of grouped queries over keys/values, then the output projection."""
        B, T, K, G, hd = q.shape
        out = dot_product_attention(q, k, v, mask)
        return self.o_proj(out.reshape(B, T, K * G * hd))
