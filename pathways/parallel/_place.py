"""Moving pytrees onto a mesh and back to the host, in one process or many."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from pathways.parallel._mesh import BATCH_AXES


def place(tree, shardings):
    """`tree` with each array put on the devices its sharding names.

    Every process holds the same full value (same seed, same checkpoint), and
    `make_array_from_callback` takes from it the shards this process's devices hold.
    """
    arrays, static = eqx.partition(tree, eqx.is_array)

    def put(x, s):
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, s, lambda idx: host[idx])

    return eqx.combine(jax.tree.map(put, arrays, shardings), static)


def batch_sharding(mesh: Mesh, leading: int = 0) -> NamedSharding:
    """Batch arrays split over the data axes on dimension `leading` (1 under gradient accumulation)."""
    return NamedSharding(mesh, PartitionSpec(*([None] * leading), BATCH_AXES))


def place_batch(batch: dict, mesh: Mesh, leading: int = 0) -> dict:
    """A global batch (the same on every process) laid out over the data axes."""
    s = batch_sharding(mesh, leading)
    return {k: jax.make_array_from_callback(v.shape, s, lambda idx, v=v: v[idx]) for k, v in batch.items()}


def to_host(x) -> np.ndarray:
    """The full value of `x` on the host, gathering shards from other processes when needed."""
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)
