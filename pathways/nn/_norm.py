"""Normalisation layers over the last axis (any leading shape)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class RMSNorm(eqx.Module):
    """Gemma-style RMSNorm: `x / rms(x) * (1 + weight)`, with `weight` initialised to 0.

    Computed in float32 whatever the input dtype, then cast back.
    """

    weight: Float[Array, " d"]
    eps: float = eqx.field(static=True)

    def __init__(self, dim: int, *, eps: float = 1e-6):
        self.weight = jnp.zeros((dim,))
        self.eps = eps

    def __call__(self, x: Float[Array, "... d"]) -> Float[Array, "... d"]:
        x32 = x.astype(jnp.float32)
        var = jnp.mean(jnp.square(x32), axis=-1, keepdims=True)
        y = x32 * jax.lax.rsqrt(var + self.eps)
        scale = 1.0 + self.weight.astype(jnp.float32)
        return (y * scale.reshape((1,) * (x.ndim - 1) + (-1,))).astype(x.dtype)


class LayerNorm(eqx.Module):
    """LayerNorm with learned scale and bias (ViT and audio encoder blocks)."""

    weight: Float[Array, " d"]
    bias: Float[Array, " d"]
    eps: float = eqx.field(static=True)

    def __init__(self, dim: int, *, eps: float = 1e-6):
        self.weight = jnp.ones((dim,))
        self.bias = jnp.zeros((dim,))
        self.eps = eps

    def __call__(self, x: Float[Array, "... d"]) -> Float[Array, "... d"]:
        x32 = x.astype(jnp.float32)
        mean = jnp.mean(x32, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(x32 - mean), axis=-1, keepdims=True)
        y = (x32 - mean) * jax.lax.rsqrt(var + self.eps)
        lead = (1,) * (x.ndim - 1)
        return (y * self.weight.reshape(*lead, -1) + self.bias.reshape(*lead, -1)).astype(x.dtype)
