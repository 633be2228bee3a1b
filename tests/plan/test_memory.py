"""Memory per chip: what each mesh axis shards, checked against hand counts."""

from __future__ import annotations

import pytest

import pathways
from pathways.components import Blocks
from pathways.plan import MeshShape, PlanError, compute_plan, memory_per_chip, parse_mesh

LAYERS = [Blocks(depth=2, seq=16, width=8, heads=2, layer_params=100)]
# One layer, 16-bit, micro-batch 1: 34*s*h + 5*a*s^2 = 34*16*8 + 5*2*16*16 = 6912 bytes; with remat 2*s*h = 256.
FULL, REMAT = 6912, 256


def memory(mesh: MeshShape, batch: int, **kw) -> dict:
    args = dict(params=1000, trainable_params=1000, blocks=LAYERS, vocab=64, seq=16, batch=batch, mesh=mesh)
    return memory_per_chip(**{**args, **kw})


def test_data_parallel_replicates_everything():
    m = memory(MeshShape(data=8), batch=8)
    assert m["micro_batch"] == 1
    assert (m["params_fp32"], m["params_compute_copy"], m["gradients_fp32"], m["adamw_moments_fp32"]) == (4000, 2000, 4000, 8000)
    assert m["fsdp_gather_buffer"] == 0
    assert m["logits_fp32"] == 4 * 16 * 64
    assert m["activations"] == 2 * FULL
    assert m["activations_remat"] == 2 * REMAT + FULL  # the layer being recomputed holds everything
    assert m["total"] == 4000 + 2000 + 4000 + 8000 + 4096 + 2 * FULL


def test_fsdp_shards_state_not_activations():
    m = memory(MeshShape(fsdp=8), batch=8)
    assert (m["params_fp32"], m["params_compute_copy"], m["gradients_fp32"], m["adamw_moments_fp32"]) == (500, 250, 500, 1000)
    assert m["fsdp_gather_buffer"] == 2 * 100  # one layer, gathered in bf16
    assert m["activations"] == 2 * FULL and m["micro_batch"] == 1


def test_tensor_shards_state_activations_and_logits():
    m = memory(MeshShape(tensor=8), batch=1)
    assert (m["params_fp32"], m["gradients_fp32"], m["adamw_moments_fp32"]) == (500, 500, 1000)
    assert m["activations"] == 2 * FULL / 8 and m["activations_remat"] == (2 * REMAT + FULL) / 8
    assert m["logits_fp32"] == 4 * 16 * 64 / 8


def test_batch_splits_over_data_and_fsdp_only():
    m = memory(MeshShape(data=2, fsdp=2, tensor=2), batch=8)
    assert m["micro_batch"] == 2
    assert m["params_fp32"] == 1000 and m["fsdp_gather_buffer"] == 100
    assert m["activations"] == 2 * 2 * FULL / 2
    with pytest.raises(PlanError, match="does not split evenly over data x fsdp = 4"):
        memory(MeshShape(data=2, fsdp=2, tensor=2), batch=6)


def test_fp32_compute_has_no_copy_and_doubles_activations():
    m = memory(MeshShape(), batch=1, compute_dtype="float32")
    assert m["params_compute_copy"] == 0 and m["activations"] == 2 * 2 * FULL


def test_frozen_pathways_have_no_gradients_or_optimizer_state(write_yaml):
    graph = pathways.validate(
        write_yaml(
            "dims: {B: 2, T: 16}\nbatch: {tokens: {shape: [B, T], dtype: int32}}\npathways:\n"
            "  text: {type: token_embedding, config: {vocab_size: 64, width: 8}, inputs: {tokens: batch.tokens}}\n"
            "  decoder: {type: gemma_decoder, config: {width: 8, depth: 2, heads: 2, kv_heads: 1, head_dim: 4, mlp_dim: 16},"
            " inputs: {x: text.embeddings}}\n"
            "  lm_head: {type: lm_head, config: {vocab_size: 64, width: 8, tied: true}, inputs: {x: decoder.x, embedding: text.table}}\n"
            "train: {trainable: [decoder], compute_dtype: bfloat16, losses: [{type: next_token, logits: lm_head.logits, targets: batch.tokens}]}\n"
        )
    )
    m = compute_plan(graph)["memory_per_chip"]
    assert m["params_fp32"] == 4 * (512 + 1192)
    assert m["gradients_fp32"] == 4 * 1192 and m["adamw_moments_fp32"] == 8 * 1192


def test_mesh_parsing():
    assert parse_mesh(None, 256) == MeshShape(data=256)
    assert parse_mesh(None, None) == MeshShape()
    assert parse_mesh("fsdp=64, tensor=4", 256) == MeshShape(fsdp=64, tensor=4)
    assert parse_mesh("data=2,fsdp=4", None).chips == 8


@pytest.mark.parametrize(
    "text, chips, message",
    [
        ("data=2,fsdp=64,tensor=4", 256, "has 2 x 64 x 4 = 512 devices, but --chips is 256"),
        ("pipeline=4", 4, "'pipeline=4' is not AXIS=SIZE with AXIS one of data, fsdp, tensor"),
        ("fsdp=four", 4, "fsdp=four is not a positive integer"),
        ("fsdp=0", None, "fsdp=0 is not a positive integer"),
        ("fsdp=2,fsdp=2", 4, "axis 'fsdp' given twice"),
    ],
)
def test_bad_meshes_are_explained(text, chips, message):
    with pytest.raises(PlanError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_mesh(text, chips)
