"""What a pathway costs per example, for `pathways plan` (FLOP conventions in `pathways.plan`)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Blocks:
    """A stack of transformer layers, for activation memory."""

    depth: int
    seq: int  # tokens per example
    width: int
    heads: int
    layer_params: int  # parameters of one layer


@dataclasses.dataclass(frozen=True)
class Cost:
    """A component's own count: tokens it processes and forward FLOPs, per example (one batch row).

    Attributes:
        tokens: positions it processes (patches, audio tokens, sequence positions).
        forward_flops: forward FLOPs of one example.
        embedding_params: parameters that are looked up rather than multiplied
            (token tables, learned position tables).
        blocks: its transformer layer stacks, for activation memory.
    """

    tokens: int
    forward_flops: float
    embedding_params: int = 0
    blocks: tuple[Blocks, ...] = ()


def cross_attention_flops(block_params: int, kv_params: int, layers: int, queries: int, context: int, d_attn: int) -> float:
    """Gated cross-attention layers: q/o/MLP on the queries, k/v on the context, full attention."""
    return 2 * (block_params - kv_params) * queries + 2 * kv_params * context + 4 * layers * queries * context * d_attn


def patch_encoder_cost(module, patches: int, depth: int, width: int, heads: int) -> Cost:
    """A ViT-style encoder over `patches` tokens whose learned position table is `module.position`."""
    from pathways.nn import count_params

    emb = count_params(module.position)
    per_token = 2 * (count_params(module) - emb) + 4 * depth * patches * width
    blocks = (Blocks(depth, patches, width, heads, count_params(module.blocks) // depth),)
    return Cost(tokens=patches, forward_flops=float(patches * per_token), embedding_params=emb, blocks=blocks)
