"""Device meshes from the `mesh` section of a config (`jax.sharding.Mesh`)."""

from __future__ import annotations

import math

import jax
import numpy as np
from jax.sharding import Mesh

from pathways._errors import ConfigError, Problem

AXES = ("data", "fsdp", "tensor")
BATCH_AXES = ("data", "fsdp")  # the batch is split over both: FSDP is data parallelism with sharded state


def axis_sizes(axes: dict[str, int], num_devices: int) -> dict[str, int]:
    """Resolve `-1` ("the rest") and check the product equals the number of devices."""
    unknown = [a for a in axes if a not in AXES]
    if unknown:
        raise ConfigError([Problem(f"mesh.axes.{a}", f"unknown mesh axis (axes: {', '.join(AXES)})") for a in unknown])
    sizes = {a: axes.get(a, 1) for a in AXES}
    rest = [a for a, n in sizes.items() if n == -1]
    if len(rest) > 1:
        raise ConfigError([Problem("mesh.axes", f"only one axis may be -1, got {', '.join(rest)}")])
    bad = [a for a, n in sizes.items() if n == 0 or n < -1]
    if bad:
        raise ConfigError([Problem(f"mesh.axes.{a}", f"size must be positive or -1, got {sizes[a]}") for a in bad])
    fixed = math.prod(n for n in sizes.values() if n != -1)
    if rest:
        if num_devices % fixed:
            raise ConfigError([Problem("mesh.axes", f"{num_devices} devices cannot be split by the fixed axes (product {fixed})")])
        sizes[rest[0]] = num_devices // fixed
    total = math.prod(sizes.values())
    if total != num_devices:
        shown = " x ".join(f"{a}={n}" for a, n in sizes.items())
        raise ConfigError([Problem("mesh.axes", f"{shown} = {total} devices, but {num_devices} are available")])
    return sizes


def make_mesh(axes: dict[str, int], devices=None) -> Mesh:
    """A mesh over all (global) devices with axes `data`, `fsdp`, `tensor`."""
    devices = jax.devices() if devices is None else devices
    sizes = axis_sizes(axes, len(devices))
    return Mesh(np.asarray(devices).reshape(tuple(sizes[a] for a in AXES)), AXES)
