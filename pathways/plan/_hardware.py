"""Accelerators (published peak dense bf16 FLOP/s and HBM per chip) and device meshes.

Peak figures are the vendors' dense (no sparsity) bf16 numbers per chip:
TPU v4 275 TFLOP/s, 32 GiB; TPU v5e 197 TFLOP/s, 16 GiB; TPU v5p 459 TFLOP/s,
95 GiB; A100 (SXM, 80 GB) 312 TFLOP/s; H100 (SXM) 989 TFLOP/s, 80 GB.
"""

from __future__ import annotations

import dataclasses

from pathways._errors import PathwaysError, Problem

GiB = 2**30
AXES = ("data", "fsdp", "tensor")


class PlanError(PathwaysError):
    """A compute plan's inputs are inconsistent (unknown chip, mesh that does not match the chips, ...)."""


@dataclasses.dataclass(frozen=True)
class Chip:
    name: str
    peak_flops: float  # dense bf16 FLOP/s per chip
    hbm_bytes: float
    description: str


CHIPS: dict[str, Chip] = {
    c.name: c
    for c in (
        Chip("tpu-v4", 275e12, 32 * GiB, "Google TPU v4"),
        Chip("tpu-v5e", 197e12, 16 * GiB, "Google TPU v5e"),
        Chip("tpu-v5p", 459e12, 95 * GiB, "Google TPU v5p"),
        Chip("a100", 312e12, 80 * GiB, "NVIDIA A100 SXM 80GB"),
        Chip("h100", 989e12, 80 * GiB, "NVIDIA H100 SXM"),
    )
}


def chip(name: str) -> Chip:
    """The chip called `name`; a `PlanError` listing the known ones otherwise."""
    if name not in CHIPS:
        raise PlanError([Problem("--chip", f"unknown chip {name!r} (known: {', '.join(CHIPS)})")])
    return CHIPS[name]


@dataclasses.dataclass(frozen=True)
class MeshShape:
    """The shape of a logical device mesh, for planning (axis sizes; `jax.sharding.Mesh` holds devices). `data` replicates the model, `fsdp` shards parameters,
    gradients and optimizer state (ZeRO-3), `tensor` shards each matrix (Megatron)
    and, with sequence parallelism, the activations; the batch is split over data x fsdp."""

    data: int = 1
    fsdp: int = 1
    tensor: int = 1

    @property
    def chips(self) -> int:
        return self.data * self.fsdp * self.tensor

    @property
    def batch_shards(self) -> int:
        return self.data * self.fsdp

    @property
    def param_shards(self) -> int:
        return self.fsdp * self.tensor

    def __str__(self) -> str:
        return ",".join(f"{a}={getattr(self, a)}" for a in AXES)


def parse_mesh(text: str | None, chips: int | None) -> MeshShape:
    """`"data=2,fsdp=64,tensor=2"` (missing axes are 1) checked against `chips`.

    Without a mesh every chip is a data-parallel replica; without `chips` the
    mesh's product is the chip count.
    """
    if chips is not None and chips < 1:
        raise PlanError([Problem("--chips", f"must be positive, got {chips}")])
    if text is None:
        return MeshShape(data=chips or 1)
    sizes: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        axis, eq, value = part.partition("=")
        axis = axis.strip()
        if not eq or axis not in AXES:
            raise PlanError([Problem("--mesh", f"{part!r} is not AXIS=SIZE with AXIS one of {', '.join(AXES)}")])
        if axis in sizes:
            raise PlanError([Problem("--mesh", f"axis {axis!r} given twice")])
        try:
            sizes[axis] = int(value)
        except ValueError:
            sizes[axis] = 0
        if sizes[axis] < 1:
            raise PlanError([Problem("--mesh", f"{axis}={value.strip()} is not a positive integer")])
    mesh = MeshShape(**sizes)
    if chips is not None and mesh.chips != chips:
        product = " x ".join(str(getattr(mesh, a)) for a in AXES)
        raise PlanError([Problem("--mesh", f"{mesh} has {product} = {mesh.chips} devices, but --chips is {chips}")])
    return mesh


def training_seconds(flops: float, chip: Chip, chips: int, mfu: float) -> float:
    """Wall-clock seconds for `flops` model FLOPs at model FLOPs utilisation `mfu`."""
    return flops / (chips * chip.peak_flops * mfu)

