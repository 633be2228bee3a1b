"""Transformer blocks shared by several components."""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from pathways.nn._attention import Attention
from pathways.nn._mlp import MLP, GeGLU
from pathways.nn._norm import LayerNorm, RMSNorm


class EncoderBlock(eqx.Module):
    """Pre-LayerNorm bidirectional block (ViT, Whisper encoder, SigLIP): `[B, T, D] -> [B, T, D]`.

    `eps` is the LayerNorms' epsilon; `tanh_gelu` picks the MLP's GELU (SigLIP's tanh form).
    """

    norm1: LayerNorm
    attn: Attention
    norm2: LayerNorm
    mlp: MLP

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, *, eps: float = 1e-6, tanh_gelu: bool = False, key: PRNGKeyArray):
        ka, km = jr.split(key)
        self.norm1 = LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, num_heads, dim // num_heads, use_bias=True, key=ka)
        self.norm2 = LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_dim, tanh_gelu=tanh_gelu, key=km)

    def __call__(self, x: Float[Array, "B T D"], *, mask: Bool[Array, "B T T"] | None = None) -> Float[Array, "B T D"]:
        x = x + self.attn(self.norm1(x), mask=mask)
        return x + self.mlp(self.norm2(x))


class GatedCrossAttention(eqx.Module):
    """Flamingo's gated cross-attention dense block: `x [B, T, D]` attends to `context [B, S, Dc]`.

    `x + tanh(attn_gate) * xattn(norm(x), context)`, then
    `x + tanh(mlp_gate) * geglu(norm(x))`. Both gates start at 0, so a freshly
    added block leaves a trained decoder's function unchanged.
    """

    attn_norm: RMSNorm
    attn: Attention
    attn_gate: Float[Array, ""]
    mlp_norm: RMSNorm
    mlp: GeGLU
    mlp_gate: Float[Array, ""]

    def __init__(
        self,
        dim: int,
        context_dim: int,
        num_heads: int,
        num_kv_heads: int,
        head_dim: int,
        mlp_dim: int,
        *,
        key: PRNGKeyArray,
    ):
        ka, km = jr.split(key)
        self.attn_norm = RMSNorm(dim)
        self.attn = Attention(dim, num_heads, num_kv_heads, head_dim, context_dim=context_dim, key=ka)
        self.attn_gate = jnp.zeros(())
        self.mlp_norm = RMSNorm(dim)
        self.mlp = GeGLU(dim, mlp_dim, key=km)
        self.mlp_gate = jnp.zeros(())

    def __call__(
        self,
        x: Float[Array, "B T D"],
        *,
        context: Float[Array, "B S Dc"] | None = None,
        context_mask: Bool[Array, "B S"] | None = None,
        context_kv: tuple[Array, Array] | None = None,
    ) -> Float[Array, "B T D"]:
        """`context_kv` (from `context_keys_values`) replaces `context` when decoding step by step."""
        k, v = self.context_keys_values(context) if context_kv is None else context_kv
        mask = None if context_mask is None else key_padding_mask(context_mask, x.shape[1])
        attn = self.attn.attend(self.attn.queries(self.attn_norm(x), None), k, v, mask)
        x = x + jnp.tanh(self.attn_gate).astype(x.dtype) * attn
        return x + jnp.tanh(self.mlp_gate).astype(x.dtype) * self.mlp(self.mlp_norm(x))

    def context_keys_values(self, context: Float[Array, "B S Dc"]) -> tuple[Array, Array]:
        """Keys and values of the context: computed once per prompt when generating."""
        return self.attn.keys_values(context, None)


def key_padding_mask(valid: Bool[Array, "B S"], num_queries: int) -> Bool[Array, "B T S"]:
    """Attention mask letting every query see exactly the valid keys."""
    return jnp.broadcast_to(valid[:, None, :], (valid.shape[0], num_queries, valid.shape[1]))
