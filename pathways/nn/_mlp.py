"""Feed-forward layers: GeGLU (Gemma) and a plain GELU MLP (ViT, audio encoder)."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray

from pathways.nn._linear import Linear


class GeGLU(eqx.Module):
    """`down(gelu_tanh(gate(x)) * up(x))`, hidden width `hidden_dim`."""

    gate_proj: Linear
    up_proj: Linear
    down_proj: Linear

    def __init__(self, dim: int, hidden_dim: int, *, key: PRNGKeyArray):
        kg, ku, kd = jr.split(key, 3)
        self.gate_proj = Linear(dim, hidden_dim, key=kg)
        self.up_proj = Linear(dim, hidden_dim, key=ku)
        self.down_proj = Linear(hidden_dim, dim, key=kd)

    def __call__(self, x: Float[Array, "... D"]) -> Float[Array, "... D"]:
        return self.down_proj(jax.nn.gelu(self.gate_proj(x), approximate=True) * self.up_proj(x))


class MLP(eqx.Module):
    """`fc2(gelu(fc1(x)))` with biases, as in ViT and Whisper encoder blocks (SigLIP: `tanh_gelu`)."""

    fc1: Linear
    fc2: Linear
    tanh_gelu: bool = eqx.field(static=True)

    def __init__(self, dim: int, hidden_dim: int, *, tanh_gelu: bool = False, key: PRNGKeyArray):
        k1, k2 = jr.split(key)
        self.fc1 = Linear(dim, hidden_dim, use_bias=True, key=k1)
        self.fc2 = Linear(hidden_dim, dim, use_bias=True, key=k2)
        self.tanh_gelu = tanh_gelu

    def __call__(self, x: Float[Array, "... D"]) -> Float[Array, "... D"]:
        return self.fc2(jax.nn.gelu(self.fc1(x), approximate=self.tanh_gelu))
