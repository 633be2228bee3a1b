"""Sharded and multi-process execution on `jax.sharding` and `jax.distributed`."""

from pathways.parallel._distributed import Cluster, DistributedError, initialize
from pathways.parallel._mesh import AXES, BATCH_AXES, axis_sizes, make_mesh
from pathways.parallel._place import batch_sharding, place, place_batch, to_host
from pathways.parallel._rules import DEFAULT_RULES, param_specs, shardings

__all__ = [
    "AXES",
    "BATCH_AXES",
    "Cluster",
    "DEFAULT_RULES",
    "DistributedError",
    "axis_sizes",
    "batch_sharding",
    "initialize",
    "make_mesh",
    "param_specs",
    "place",
    "place_batch",
    "shardings",
    "to_host",
]
