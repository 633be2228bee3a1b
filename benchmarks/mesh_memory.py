"""Per-device parameter and optimizer memory under each mesh, measured vs the planner's prediction.

    XLA_FLAGS=--xla_force_host_platform_device_count=8 python benchmarks/mesh_memory.py

Places a decoder LM (d=256, 4 layers, vocab 4096) on 8 simulated CPU devices under several
meshes, initialises AdamW under jit, and sums the bytes of the shards device 0 holds; the
planner (`pathways.plan.memory_per_chip`) predicts fp32 parameters (4 P / (fsdp x tensor))
and AdamW moments (8 P / (fsdp x tensor)).
"""

from __future__ import annotations

import json
from pathlib import Path

import equinox as eqx
import jax

import pathways
from pathways.parallel import make_mesh, place, shardings
from pathways.plan import MeshShape as PlanMesh
from pathways.plan._memory import memory_per_chip
from pathways.train import make_optimizer
from pathways.config._schema import TrainSpec, LossSpec

CONFIG = """\
name: bench-mesh-memory
dims: {B: 8, T: 128}
batch:
  tokens: {shape: [B, T], dtype: int32}
pathways:
  text: {type: token_embedding, config: {vocab_size: 4096, width: 256}, inputs: {tokens: batch.tokens}}
  decoder:
    type: gemma_decoder
    config: {width: 256, depth: 4, heads: 8, kv_heads: 2, head_dim: 32, mlp_dim: 1024}
    inputs: {x: text.embeddings}
  lm_head: {type: lm_head, config: {vocab_size: 4096, width: 256}, inputs: {x: decoder.x}}
"""
MESHES = [{"data": 8}, {"data": 2, "fsdp": 4}, {"fsdp": 8}, {"data": 4, "tensor": 2}, {"data": 2, "fsdp": 2, "tensor": 2}]


def device0_bytes(tree) -> int:
    d0 = jax.devices()[0]
    return sum(s.data.nbytes for x in jax.tree.leaves(eqx.filter(tree, eqx.is_array)) for s in x.addressable_shards if s.device == d0)


def main() -> None:
    path = Path("/tmp/bench-mesh-memory.yaml")
    path.write_text(CONFIG)
    graph = pathways.validate(path)
    model = pathways.build(graph, jax.random.key(0))
    params = sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    opt = make_optimizer(TrainSpec(losses=[LossSpec(type="next_token", logits="lm_head.logits", targets="batch.tokens")]))
    rows = []
    for axes in MESHES:
        mesh = make_mesh(axes)
        placed = place(model, shardings(model, mesh))
        state = opt.init(eqx.filter(placed, eqx.is_inexact_array))
        state = place(state, shardings(state, mesh))  # as pathways.train.prepare does
        plan = memory_per_chip(params=params, trainable_params=params, blocks=[], vocab=4096, seq=128, batch=8,
                               mesh=PlanMesh(axes.get("data", 1), axes.get("fsdp", 1), axes.get("tensor", 1)), compute_dtype="float32")
        got_p, got_o = device0_bytes(placed), device0_bytes(state)
        row = {"mesh": axes, "params_bytes": got_p, "planned_params_bytes": plan["params_fp32"], "optimizer_bytes": got_o,
               "planned_optimizer_bytes": plan["adamw_moments_fp32"], "params_ratio": got_p / plan["params_fp32"],
               "optimizer_ratio": got_o / plan["adamw_moments_fp32"]}
        rows.append(row)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
