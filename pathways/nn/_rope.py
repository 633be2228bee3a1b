"""Rotary position embedding (Gemma convention: rotate the two halves of each head)."""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def apply_rope(
    x: Float[Array, "B T H hd"], positions: Int[Array, "B T"], *, base: float = 10_000.0
) -> Float[Array, "B T H hd"]:
    """Rotate `x` by angle `position / base**(2i/hd)` on pairs `(x[i], x[i + hd/2])`."""
    half = x.shape[-1] // 2
    freq = base ** (-jnp.arange(half, dtype=jnp.float32) * 2.0 / x.shape[-1])  # [hd/2]
    angle = positions.astype(jnp.float32)[:, :, None, None] * freq[None, None, None, :]  # [B, T, 1, hd/2]
    sin, cos = jnp.sin(angle), jnp.cos(angle)
    x1, x2 = x[..., :half].astype(jnp.float32), x[..., half:].astype(jnp.float32)
    out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
    return out.astype(x.dtype)


def sinusoidal_table(length: int, dim: int, *, base: float = 10_000.0) -> Float[Array, "L D"]:
    """Fixed 1-D sin/cos position table `[length, dim]` (Transformer / Whisper style)."""
    half = dim // 2
    freq = base ** (-jnp.arange(half, dtype=jnp.float32) / max(half - 1, 1))
    angle = jnp.arange(length, dtype=jnp.float32)[:, None] * freq[None, :]
    return jnp.concatenate([jnp.sin(angle), jnp.cos(angle)], axis=-1)


def sincos_2d_table(height: int, width: int, dim: int) -> Float[Array, "HW D"]:
    """Fixed 2-D sin/cos table for a `height x width` patch grid (MoCo v3 / ViT-22B style).

    Half the channels encode the row, half the column; rows are flattened row-major.
    """
    assert dim % 4 == 0, "2-D sincos position embedding needs dim divisible by 4"
    quarter = dim // 4
    omega = 1.0 / (10_000.0 ** (jnp.arange(quarter, dtype=jnp.float32) / quarter))
    ys, xs = jnp.meshgrid(jnp.arange(height), jnp.arange(width), indexing="ij")
    y = ys.reshape(-1, 1).astype(jnp.float32) * omega[None, :]  # [HW, D/4]
    x = xs.reshape(-1, 1).astype(jnp.float32) * omega[None, :]
    return jnp.concatenate([jnp.sin(x), jnp.cos(x), jnp.sin(y), jnp.cos(y)], axis=-1)
