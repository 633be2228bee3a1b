"""Dense layer that keeps its matmul on a 2-D `[N, D_in]` operand.

On XLA:CPU a dense layer applied to a `[B, T, D]` operand was measured to make
the backward pass of a whole train step ~1.4x slower than the same layer on
`[B*T, D]`, so every dense layer in the runtime flattens leading axes first.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray


class Linear(eqx.Module):
    """`y = x @ weight + bias` over the last axis of `x`, any leading shape.

    `weight` is stored `[in_features, out_features]`.
    """

    weight: Float[Array, "d_in d_out"]
    bias: Float[Array, " d_out"] | None
    in_features: int = eqx.field(static=True)
    out_features: int = eqx.field(static=True)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        use_bias: bool = False,
        std: float | None = None,
        key: PRNGKeyArray,
    ):
        std = 1.0 / math.sqrt(in_features) if std is None else std
        self.weight = std * jr.truncated_normal(key, -2.0, 2.0, (in_features, out_features))
        self.bias = jnp.zeros((out_features,)) if use_bias else None
        self.in_features = in_features
        self.out_features = out_features

    def __call__(self, x: Float[Array, "... d_in"]) -> Float[Array, "... d_out"]:
        lead = x.shape[:-1]
        y = x.reshape(-1, self.in_features) @ self.weight.astype(x.dtype)  # [N, d_out]
        if self.bias is not None:
            y = y + self.bias.astype(x.dtype)[None, :]
        return y.reshape(*lead, self.out_features)


def count_params(tree) -> int:
    """Number of array elements in the floating-point leaves of `tree` (abstract leaves count too)."""
    leaves = jax.tree_util.tree_leaves(tree)
    return sum(
        math.prod(leaf.shape)
        for leaf in leaves
        if hasattr(leaf, "shape") and hasattr(leaf, "dtype") and jnp.issubdtype(leaf.dtype, jnp.inexact)
    )


def patchify(images: Float[Array, "B H W C"], patch: int) -> Float[Array, "B N P"]:
    """Non-overlapping `patch x patch` squares, row-major, each flattened over `(row, col, channel)`: `P = patch*patch*C`."""
    B, H, W, C = images.shape
    gh, gw = H // patch, W // patch
    x = images.reshape(B, gh, patch, gw, patch, C).transpose(0, 1, 3, 2, 4, 5)  # [B, gh, gw, p, p, C]
    return x.reshape(B, gh * gw, patch * patch * C)
