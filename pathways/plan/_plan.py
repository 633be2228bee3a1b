"""A whole compute plan for a config: parameters, FLOPs, data, memory and time, as one dict."""

from __future__ import annotations

import math

from pathways._errors import Problem
from pathways.graph import ResolvedGraph
from pathways.plan._flops import decoder_of, flops_per_token, pathway_costs, with_sequence_length
from pathways.plan._hardware import MeshShape, PlanError, parse_mesh, training_seconds
from pathways.plan._hardware import chip as get_chip
from pathways.plan._memory import layer_activation_bytes, memory_per_chip
from pathways.plan._scaling import APPROACH1_A, APPROACH1_B, chinchilla_optimal, chinchilla_tokens, inference_optimal, loss

ASSUMPTIONS = (
    "FLOPs: 2 per weight per token, plus attention (Kaplan: 2*L*T*d_attn per token, causal decoder); training = 3x forward",
    "tokens are positions of the decoder's sequence, modality-prefix tokens included",
    "Chinchilla N counts all parameters, embeddings included (as Hoffmann et al. do)",
    f"chinchilla.approach_1: Table 3 relation, D = 20.2e9 * (N/1e9)^({APPROACH1_B:.4f}/{APPROACH1_A:.4f}); approach_3: parametric fit, C = 6ND",
    "inference_optimal: minimises 6ND + 2N*D_inference at the loss of approach 3's optimum for the run's 6ND",
    "memory: fp32 master weights, bf16 compute copy, fp32 grads, 2 fp32 AdamW moments, sharded over fsdp x tensor",
    "activations: Korthikanti et al. 2022 (34sbh + 5as^2b bytes/layer; 2sbh with full remat), / tensor",
    "time: counted training FLOPs / (chips * peak dense bf16 FLOP/s * MFU)",
)


def compute_plan(
    graph: ResolvedGraph,
    *,
    chip: str = "tpu-v5p",
    chips: int | None = None,
    mesh: str | MeshShape | None = None,
    compute: float | None = None,
    tokens: float | None = None,
    inference_tokens: float | None = None,
    mfu: float = 0.4,
    seq_len: int | None = None,
    batch: int | None = None,
) -> dict:
    """Plan training `graph`: every figure `pathways plan` prints, without allocating the model.

    `tokens` (training tokens) or `compute` (a FLOP budget) fix the run's length;
    without either it is Chinchilla-optimal for the model's size (approach 1).
    `seq_len` re-validates the graph with that many decoder positions; `batch`
    is the global batch in sequences (default one per data x fsdp shard).
    """
    if compute is not None and tokens is not None:
        raise PlanError([Problem("--compute", "give --compute or --tokens, not both")])
    for flag, value in (("--compute", compute), ("--tokens", tokens), ("--seq-len", seq_len), ("--batch", batch)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise PlanError([Problem(flag, f"must be positive and finite, got {value:g}")])
    if not 0 < mfu <= 1:
        raise PlanError([Problem("--mfu", f"must be in (0, 1], got {mfu}")])
    hw = get_chip(chip)
    mesh = mesh if isinstance(mesh, MeshShape) else parse_mesh(mesh, chips)
    if seq_len is not None:
        graph = with_sequence_length(graph, seq_len)
    costs = pathway_costs(graph)
    dec = decoder_of(costs)
    seq = costs[dec].tokens
    per_token = flops_per_token(costs, dec)

    n = sum(c.params for c in costs.values())
    embedding = sum(c.embedding_params for c in costs.values())
    d_chinchilla = chinchilla_tokens(n)
    if tokens is not None:
        d, source = float(tokens), "--tokens"
    elif compute is not None:
        d, source = compute / per_token["training"], "--compute / training FLOPs per token"
    else:
        d, source = d_chinchilla, "compute-optimal for this size, Chinchilla approach 1"
    budget = compute if compute is not None else 6 * n * d
    train_flops = per_token["training"] * d

    spec = graph.loaded.spec
    trainable = set(spec.train.trainable) if spec.train and spec.train.trainable else set(costs)
    compute_dtype = spec.train.compute_dtype if spec.train else "bfloat16"
    vocab = max((getattr(graph.nodes[k].cfg, "vocab_size", 0) for k, c in costs.items() if "lm_head" in c.roles), default=0)
    blocks = [blk for c in costs.values() for blk in c.blocks]
    memory = memory_per_chip(
        params=n,
        trainable_params=sum(c.params for k, c in costs.items() if k in trainable),
        blocks=blocks,
        vocab=vocab,
        seq=seq,
        batch=batch if batch is not None else mesh.batch_shards,
        mesh=mesh,
        compute_dtype=compute_dtype,
    )
    dec_blocks = costs[dec].blocks[0]
    per_token_layer = {
        remat: layer_activation_bytes(dec_blocks, 1, remat=remat) / dec_blocks.seq / mesh.tensor for remat in (False, True)
    }
    seconds = training_seconds(train_flops, hw, mesh.chips, mfu)
    out = {
        "name": spec.name,
        "config": graph.loaded.path,
        "sequence": {"decoder": dec, "length": seq, "batch": memory["micro_batch"] * mesh.batch_shards},
        "params": {"total": n, "embedding": embedding, "non_embedding": n - embedding},
        "flops_per_token": per_token,
        "pathways": {
            k: {
                "type": c.type,
                "kind": c.kind,
                "params": c.params,
                "embedding_params": c.embedding_params,
                "non_embedding_params": c.non_embedding_params,
                "tokens_per_example": c.tokens,
                "forward_flops_per_example": c.forward_flops,
                "forward_flops_per_own_token": c.forward_flops / c.tokens if c.tokens else 0.0,
                "training_flops_per_token": 3 * c.forward_flops / seq,
                "inference_flops_per_token": c.forward_flops / seq,
                "estimated": c.estimated,
            }
            for k, c in costs.items()
        },
        "training": {
            "tokens": d,
            "tokens_from": source,
            "flops": train_flops,
            "flops_6nd": 6 * n * d,
            "predicted_loss": loss(n, d),
        },
        "chinchilla": {
            "approach_1": {"params": n, "tokens": d_chinchilla, "tokens_per_param": d_chinchilla / n, "flops_6nd": 6 * n * d_chinchilla},
            "approach_3": {"compute": budget, **chinchilla_optimal(budget).as_dict()},
        },
        "inference_optimal": inference_optimal(budget, inference_tokens).as_dict() if inference_tokens is not None else None,
        "hardware": {
            "chip": hw.name,
            "peak_flops": hw.peak_flops,
            "hbm_bytes": hw.hbm_bytes,
            "chips": mesh.chips,
            "mesh": {"data": mesh.data, "fsdp": mesh.fsdp, "tensor": mesh.tensor},
            "mfu": mfu,
        },
        "memory_per_chip": {
            **memory,
            "activations_per_token_per_layer": per_token_layer[False],
            "activations_per_token_per_layer_remat": per_token_layer[True],
            "fits": memory["total"] <= hw.hbm_bytes,
            "fits_remat": memory["total_remat"] <= hw.hbm_bytes,
        },
        "time": {"seconds": seconds, "days": seconds / 86400},
        "assumptions": list(ASSUMPTIONS),
    }
    return out
