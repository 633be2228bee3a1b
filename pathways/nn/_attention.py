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
from pathways.nn._norm import RMSNorm
from pathways.nn._rope import apply_rope


def causal_mask(batch: int, length: int) -> Bool[Array, "B T T"]:
    """`mask[b, i, j]` is True where query `i` may attend to key `j <= i`."""
    tri = jnp.tril(jnp.ones((length, length), dtype=bool))
    return jnp.broadcast_to(tri, (batch, length, length))


def sliding_window(mask: Bool[Array, "B T S"], q_positions: Int[Array, "B T"], k_positions: Int[Array, "B S"], window: int) -> Bool[Array, "B T S"]:
    """`mask` restricted to keys less than `window` positions behind their query (Gemma 2/3 local layers, as HF)."""
    return mask & (k_positions[:, None, :] > q_positions[:, :, None] - window)


def dot_product_attention(
    q: Float[Array, "B T K G hd"],
    k: Float[Array, "B S K hd"],
    v: Float[Array, "B S K hd"],
    mask: Bool[Array, "B T S"] | None,
    *,
    scale: float | None = None,
    softcap: float | None = None,
) -> Float[Array, "B T K G hd"]:
    """Softmax attention in float32, masked positions set to the dtype's minimum.

    `scale` multiplies the logits (default `1 / sqrt(hd)`); `softcap` bounds them to
    `softcap * tanh(logits / softcap)` before masking (Gemma 2).
    """
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    logits = jnp.einsum("btkgh,bskh->bkgts", q, k, preferred_element_type=jnp.float32) * scale
    if softcap is not None:
        logits = softcap * jnp.tanh(logits / softcap)
    if mask is not None:
        logits = jnp.where(mask[:, None, None, :, :], logits, jnp.finfo(jnp.float32).min)
    probs = jax.nn.softmax(logits, axis=-1).astype(v.dtype)  # [B, K, G, T, S]
    return jnp.einsum("bkgts,bskh->btkgh", probs, v)


class Attention(eqx.Module):
    """Projections plus `dot_product_attention`, with optional RoPE on queries and keys.

    Options of the Gemma 2/3 families, all off by default: `qk_norm` (an RMSNorm over
    each query and key head before RoPE), `query_scale` (the logits' scale, default
    `1 / sqrt(head_dim)`), `softcap` (attention-logit soft-capping) and `rope_scale`
    (linear RoPE scaling: positions divided by it).
    """

    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    o_proj: Linear
    q_norm: RMSNorm | None
    k_norm: RMSNorm | None
    num_heads: int = eqx.field(static=True)
    num_kv_heads: int = eqx.field(static=True)
    head_dim: int = eqx.field(static=True)
    rope_base: float | None = eqx.field(static=True)
    rope_scale: float = eqx.field(static=True)
    query_scale: float | None = eqx.field(static=True)
    softcap: float | None = eqx.field(static=True)

    def __init__(
        self,
        dim: int,
        num_heads: int,
        num_kv_heads: int,
        head_dim: int,
        *,
        context_dim: int | None = None,
        rope_base: float | None = None,
        rope_scale: float = 1.0,
        use_bias: bool = False,
        qk_norm: bool = False,
        norm_eps: float = 1e-6,
        query_scale: float | None = None,
        softcap: float | None = None,
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
        self.rope_scale = rope_scale
        self.q_norm = RMSNorm(head_dim, eps=norm_eps) if qk_norm else None
        self.k_norm = RMSNorm(head_dim, eps=norm_eps) if qk_norm else None
        self.query_scale = query_scale
        self.softcap = softcap

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

    def _rope(self, x, positions, rope):
        """RoPE with this layer's base and scale, or `rope = (base, scale)` given per layer (a scanned stack)."""
        base, scale = (self.rope_base, self.rope_scale) if rope is None else rope
        if not isinstance(scale, (int, float)) or scale != 1.0:
            positions = positions.astype(jnp.float32) / scale
        return apply_rope(x, positions, base=base)

    def queries(self, x: Float[Array, "B T D"], positions: Int[Array, "B T"] | None, *, rope=None) -> Float[Array, "B T K G hd"]:
        """Projected (and, with RoPE, rotated) queries, grouped by key/value head."""
        B, T, _ = x.shape
        K, G, hd = self.num_kv_heads, self.num_heads // self.num_kv_heads, self.head_dim
        q = self.q_proj(x).reshape(B, T, K * G, hd)
        if self.q_norm is not None:
            q = self.q_norm(q)
        if self.rope_base is not None:
            q = self._rope(q, positions, rope)
        return q.reshape(B, T, K, G, hd)

    def keys_values(self, src: Float[Array, "B S Dc"], positions: Int[Array, "B S"] | None, *, rope=None) -> tuple[Array, Array]:
        """Projected keys (rotated with RoPE) and values `[B, S, K, hd]`: what a KV cache stores."""
        B, S, _ = src.shape
        k = self.k_proj(src).reshape(B, S, self.num_kv_heads, self.head_dim)
        v = self.v_proj(src).reshape(B, S, self.num_kv_heads, self.head_dim)
        if self.k_norm is not None:
            k = self.k_norm(k)
        if self.rope_base is not None:
            k = self._rope(k, positions, rope)
        return k, v

    def attend(self, q: Float[Array, "B T K G hd"], k, v, mask: Bool[Array, "B T S"] | None) -> Float[Array, "B T D"]:
        """Attention of grouped queries over keys/values, then the output projection."""
        B, T, K, G, hd = q.shape
        out = dot_product_attention(q, k, v, mask, scale=self.query_scale, softcap=self.softcap)
        return self.o_proj(out.reshape(B, T, K * G * hd))
