"""Compute planning: FLOPs and parameters per pathway, compute-optimal data (Chinchilla),
inference-aware sizing, memory per chip under a mesh, and training time.

    import pathways
    from pathways.plan import compute_plan
    report = compute_plan(pathways.validate("examples/presets/gemma-2b.yaml"), chip="tpu-v5p", chips=256)

Everything is computed abstractly: no parameter is allocated.
"""

from typing import TYPE_CHECKING

from pathways._lazy import attach

if TYPE_CHECKING:
    from pathways.plan._flops import PathwayCost, flops_per_token, pathway_costs
    from pathways.plan._hardware import CHIPS, Chip, MeshShape, PlanError, parse_mesh
    from pathways.plan._memory import memory_per_chip
    from pathways.plan._plan import compute_plan
    from pathways.plan._preflight import MemoryPreflightError, preflight
    from pathways.plan._scaling import chinchilla_optimal, chinchilla_tokens, inference_optimal, loss

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "_flops": ["PathwayCost", "flops_per_token", "pathway_costs"],
        "_hardware": ["CHIPS", "Chip", "MeshShape", "PlanError", "parse_mesh"],
        "_memory": ["memory_per_chip"],
        "_plan": ["compute_plan"],
        "_preflight": ["MemoryPreflightError", "preflight"],
        "_scaling": ["chinchilla_optimal", "chinchilla_tokens", "inference_optimal", "loss"],
    },
)
