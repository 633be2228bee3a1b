"""Training memory per chip under a data x fsdp x tensor mesh.

Assumptions (bytes per parameter, P = all parameters, P_t = trainable ones):
- fp32 master weights (4 P), a bf16 compute copy (2 P) when computing in bf16,
  fp32 gradients (4 P_t) and AdamW's two fp32 moments (8 P_t): all sharded over
  fsdp x tensor (ZeRO-3 plus Megatron tensor parallelism), replicated over data.
- With fsdp > 1, one layer of the largest stack is all-gathered at a time, in the
  compute dtype, sharded only over tensor.
- Activations per transformer layer, after Korthikanti et al. (2022), 16-bit:
  `34 s b h + 5 a s^2 b` bytes without recomputation (s tokens, b sequences per
  chip, h width, a heads; the second term stores attention matrices, as this
  repository's attention does), `2 s b h` with full recomputation (each layer
  keeps its input) plus one layer's full activations while it is recomputed.
  With tensor parallelism both are divided by `tensor` (sequence parallelism).
  fp32 compute doubles them. The 34 assumes a GPT-style 4h MLP; a Gemma GeGLU
  layer stores somewhat more.
- The LM head's float32 logits, `4 s b V / tensor` bytes, once.
- The batch is split over data x fsdp; one optimizer step, no gradient accumulation.
Fragmentation, XLA temporaries and communication buffers are not counted.
"""

from __future__ import annotations

from pathways._errors import Problem
from pathways.components import Blocks
from pathways.plan._hardware import MeshShape, PlanError


def layer_activation_bytes(b: Blocks, micro_batch: int, *, remat: bool, bytes_per_value: int = 2) -> float:
    """Activations one layer of `b` keeps for the backward pass, on one chip without tensor sharding."""
    scale = bytes_per_value / 2
    if remat:
        return scale * 2 * b.seq * micro_batch * b.width
    return scale * (34 * b.seq * micro_batch * b.width + 5 * b.heads * b.seq**2 * micro_batch)


def micro_batch(batch: int, mesh: MeshShape) -> int:
    """Sequences per chip: the global batch split over data x fsdp."""
    if batch < 1 or batch % mesh.batch_shards:
        raise PlanError(
            [Problem("--batch", f"a global batch of {batch} sequences does not split evenly over data x fsdp = {mesh.batch_shards}")]
        )
    return batch // mesh.batch_shards


def memory_per_chip(
    *,
    params: int,
    trainable_params: int,
    blocks: list[Blocks],
    vocab: int,
    seq: int,
    batch: int,
    mesh: MeshShape,
    compute_dtype: str = "bfloat16",
) -> dict:
    """Bytes per chip for one training step, by category, with and without full rematerialisation."""
    b = micro_batch(batch, mesh)
    compute_bytes = 2 if compute_dtype == "bfloat16" else 4
    shard = mesh.param_shards
    largest_layer = max((blk.layer_params for blk in blocks), default=0)
    state = {
        "params_fp32": 4 * params / shard,
        "params_compute_copy": (2 * params / shard) if compute_bytes == 2 else 0.0,
        "fsdp_gather_buffer": (compute_bytes * largest_layer / mesh.tensor) if mesh.fsdp > 1 else 0.0,
        "gradients_fp32": 4 * trainable_params / shard,
        "adamw_moments_fp32": 8 * trainable_params / shard,
    }
    logits = 4 * seq * b * vocab / mesh.tensor

    def activations(remat: bool) -> float:
        stored = sum(blk.depth * layer_activation_bytes(blk, b, remat=remat, bytes_per_value=compute_bytes) for blk in blocks)
        if remat and blocks:  # the layer being recomputed holds its full activations
            stored += max(layer_activation_bytes(blk, b, remat=False, bytes_per_value=compute_bytes) for blk in blocks)
        return stored / mesh.tensor

    fixed = sum(state.values())
    return {
        "micro_batch": b,
        "compute_dtype": compute_dtype,
        **state,
        "logits_fp32": logits,
        "activations": activations(False),
        "activations_remat": activations(True),
        "total": fixed + logits + activations(False),
        "total_remat": fixed + logits + activations(True),
    }
