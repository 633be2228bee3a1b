"""Synthetic batches matching a graph's batch spec (smoke tests, `pathways forward`, benchmarks)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.random as jr

from pathways.graph._resolve import ResolvedGraph

MAX_RANDOM_TOKEN = 32


def random_batch(graph: ResolvedGraph, key: jax.Array) -> dict[str, jax.Array]:
    """Standard-normal floats, integers in `[1, 32)` (valid ids for any real vocabulary, never padding 0), True booleans."""
    batch = {}
    for i, (name, v) in enumerate(sorted(graph.batch.items())):
        k = jr.fold_in(key, i)
        if jnp.issubdtype(v.dtype, jnp.floating):
            batch[name] = jr.normal(k, v.shape, v.dtype)
        elif jnp.issubdtype(v.dtype, jnp.integer):
            batch[name] = jr.randint(k, v.shape, 1, MAX_RANDOM_TOKEN, v.dtype)
        else:
            batch[name] = jnp.ones(v.shape, v.dtype)
    return batch
