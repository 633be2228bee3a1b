"""Memory preflight: refuse, before allocating, a run the devices cannot hold.

`forward`, `train`, `finetune` and `generate` call `preflight` after validating
the config and before building the model. It compares the planner's per-device
estimate (`memory_per_chip` for training, weights plus the largest layer's
activations for inference) with what each device has: an accelerator's own
memory limit, or on the CPU the host's available memory shared by its devices.
The estimate leaves out XLA temporaries, so passing is no guarantee; failing
means the run could not fit even in the best case.
"""

from __future__ import annotations

import math
import os
from typing import Literal

import jax

from pathways._errors import PathwaysError, Problem
from pathways.graph import ResolvedGraph
from pathways.plan._flops import pathway_costs
from pathways.plan._hardware import MeshShape
from pathways.plan._memory import layer_activation_bytes, memory_per_chip

Mode = Literal["forward", "train", "generate"]


class MemoryPreflightError(PathwaysError):
    """The estimated memory of a run exceeds what the devices have."""


def device_budget() -> tuple[float, str]:
    """Bytes one local device can use, and where the figure comes from."""
    devices = jax.local_devices()
    stats = devices[0].memory_stats() or {}
    if stats.get("bytes_limit"):
        return float(stats["bytes_limit"]), f"{devices[0].device_kind} memory"
    available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    try:  # MemAvailable counts reclaimable page cache too
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        pass
    share = f" / {len(devices)} devices" if len(devices) > 1 else ""
    return available / len(devices), f"available host memory{share}"


def _mesh(axes: dict[str, int] | None) -> MeshShape:
    if not axes:
        return MeshShape()
    n = jax.device_count()
    fixed = math.prod(v for v in axes.values() if v != -1)
    sizes = {k: (max(n // max(fixed, 1), 1) if v == -1 else v) for k, v in axes.items()}
    return MeshShape(**{k: sizes.get(k, 1) for k in ("data", "fsdp", "tensor")})


def estimate(graph: ResolvedGraph, mode: Mode, *, trainable: set[str] | None = None, mesh_axes: dict[str, int] | None = None) -> dict:
    """Estimated bytes per device of a step of `graph`, with its parameter bytes per pathway."""
    costs = pathway_costs(graph)
    mesh = _mesh(mesh_axes)
    batch = next(iter(graph.batch.values())).shape[0] if graph.batch else 1
    batch = -(-batch // mesh.batch_shards) * mesh.batch_shards  # the planner needs an even split
    blocks = [b for c in costs.values() for b in c.blocks]
    decoders = [c for c in costs.values() if c.kind == "decoder"]
    seq = max((c.tokens for c in decoders), default=1)
    vocab = max((getattr(graph.nodes[k].cfg, "vocab_size", 0) for k, c in costs.items() if "lm_head" in c.roles), default=0)
    params = sum(c.params for c in costs.values())
    train = graph.loaded.spec.train
    if mode == "train":
        names = trainable if trainable is not None else set(costs)
        memory = memory_per_chip(
            params=params,
            trainable_params=sum(c.params for k, c in costs.items() if k in names),
            blocks=blocks,
            vocab=vocab,
            seq=seq,
            batch=batch,
            mesh=mesh,
            compute_dtype=train.compute_dtype if train else "float32",
        )
        total = memory["total"]
    else:  # weights, plus one layer's activations and the logits at a time
        b = batch // mesh.batch_shards
        layer = max((layer_activation_bytes(blk, b, remat=False, bytes_per_value=4) for blk in blocks), default=0.0)
        total = 4 * params / mesh.param_shards + (layer + 4 * seq * b * vocab) / mesh.tensor
    return {"total": total, "params_bytes": {k: 4 * c.params / mesh.param_shards for k, c in costs.items()}}


def _bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n:.0f} B"
        n /= 1000
    return f"{n:.1f} PB"


def preflight(graph: ResolvedGraph, mode: Mode, *, trainable: set[str] | None = None, mesh_axes: dict[str, int] | None = None) -> None:
    """Raise `MemoryPreflightError` (one line) when the estimate exceeds a device's memory."""
    est = estimate(graph, mode, trainable=trainable, mesh_axes=mesh_axes)
    budget, source = device_budget()
    if est["total"] <= budget:
        return
    largest = sorted(est["params_bytes"].items(), key=lambda kv: -kv[1])[:3]
    top = ", ".join(f"{k} {_bytes(v)}" for k, v in largest)
    raise MemoryPreflightError(
        [
            Problem(
                "memory",
                f"a {mode} step needs about {_bytes(est['total'])} per device, more than the {_bytes(budget)} it has ({source}); "
                f"largest pathways (weights): {top}. Shrink the model or batch, shard it with a mesh, or pass --no-preflight to try anyway",
                graph.loaded.path and str(graph.loaded.path),
            )
        ]
    )
