"""1-D convolution over time on channels-last `[B, T, C]` operands."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
from jaxtyping import Array, Float, PRNGKeyArray


class Conv1d(eqx.Module):
    """`[B, T, C_in] -> [B, ceil-ish(T / stride), C_out]` with symmetric zero padding `kernel // 2`.

    Output length is `(T + 2 * (kernel // 2) - kernel) // stride + 1`.
    """

    weight: Float[Array, "k c_in c_out"]
    bias: Float[Array, " c_out"]
    stride: int = eqx.field(static=True)

    def __init__(self, in_channels: int, out_channels: int, kernel: int, *, stride: int = 1, key: PRNGKeyArray):
        std = 1.0 / math.sqrt(in_channels * kernel)
        self.weight = std * jr.truncated_normal(key, -2.0, 2.0, (kernel, in_channels, out_channels))
        self.bias = jnp.zeros((out_channels,))
        self.stride = stride

    def __call__(self, x: Float[Array, "B T C"]) -> Float[Array, "B T2 C2"]:
        pad = self.weight.shape[0] // 2
        y = jax.lax.conv_general_dilated(
            x,
            self.weight.astype(x.dtype),
            window_strides=(self.stride,),
            padding=[(pad, pad)],
            dimension_numbers=("NWC", "WIO", "NWC"),
        )
        return y + self.bias.astype(x.dtype)[None, None, :]

    @staticmethod
    def out_length(length: int, kernel: int, stride: int) -> int:
        return (length + 2 * (kernel // 2) - kernel) // stride + 1
