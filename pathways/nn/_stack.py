"""A stack of identical layers stored with a leading layer axis and run with `lax.scan`.

Scanning compiles one layer instead of `L`, which keeps compile time flat in depth;
`scan=False` unrolls the layers instead (same parameters, same numbers): on XLA:CPU
an unrolled 4-layer train step ran ~1.14x faster than the scanned one (see
benchmarks/README.md), at the cost of compile time growing with depth.
`remat=True` recomputes each layer's activations in the backward pass.
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.random as jr
from jaxtyping import PRNGKeyArray


class Stack(eqx.Module):
    """`num` layers made by `make(key)`, every array leaf stacked on axis 0."""

    layers: eqx.Module
    num: int = eqx.field(static=True)
    remat: bool = eqx.field(static=True)
    scan: bool = eqx.field(static=True)

    def __init__(
        self,
        make: Callable[[PRNGKeyArray], eqx.Module],
        num: int,
        *,
        remat: bool = False,
        scan: bool = True,
        key: PRNGKeyArray,
    ):
        self.layers = eqx.filter_vmap(make)(jr.split(key, num))
        self.num = num
        self.remat = remat
        self.scan = scan

    def __call__(self, x, *, per_layer=None, **kwargs):
        """Run `x = layer(x, **kwargs)` through every layer in order.

        `per_layer` (a dict of arrays with a leading `num` axis, e.g. which layers attend
        locally) is sliced like the parameters: layer `i` also gets `layer={k: v[i]}`.
        """
        params, static = eqx.partition(self.layers, eqx.is_array)

        def body(carry, xs):
            layer_params, layer_inputs = xs
            layer = eqx.combine(layer_params, static)
            extra = {} if layer_inputs is None else {"layer": layer_inputs}
            return layer(carry, **kwargs, **extra), None

        if self.remat:
            body = jax.checkpoint(body)
        x, _ = jax.lax.scan(body, x, (params, per_layer), unroll=not self.scan)
        return x
