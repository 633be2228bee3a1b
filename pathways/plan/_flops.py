"""Parameters and forward FLOPs of each pathway, counted from its config and the graph's shapes.

Conventions (Kaplan et al. 2020; Hoffmann et al. 2022):
- A weight applied to a token costs 2 FLOPs (multiply and add), so a pathway's
  dense work is `2 x non-embedding parameters` per token it processes. Norm
  scales and biases are counted the same way (negligible); softmax, activations,
  RoPE and the audio log-mel front end are not counted.
- Attention adds `2 x n_layers x T x d_attn` per token for causal decoder
  self-attention (`d_attn = heads x head_dim`; QK^T and AV each over T/2 keys
  on average; an early-fusion prefix, though bidirectional, is counted as
  causal), `4 x n_layers x N x d_attn` for bidirectional encoders over N tokens
  and `4 x Q x N x d_attn` per cross-attention layer (Q queries, N context tokens).
- The LM head's logits cost `2 x D x V` per position, tied or not.
- Training costs 3x the forward pass (backward = 2x forward), not counting
  recomputation under remat (model FLOPs, as in MFU).
- Embedding parameters are token-embedding tables and learned position tables. A
  tied LM head owns nothing (its matrix is the text pathway's, counted once); an
  untied head's matrix is a dense projection applied to every token, so it counts
  as non-embedding.
A component this module does not know (from a plugin) is estimated as
`2 x params x tokens`, with tokens the length of its first sequence output, and
flagged `estimated`.
"""

from __future__ import annotations

import dataclasses

from pathways._errors import Problem
from pathways.graph import ResolvedGraph, build_abstract, resolve
from pathways.nn import count_params
from pathways.nn._audio import num_frames
from pathways.plan._hardware import PlanError


@dataclasses.dataclass(frozen=True)
class Blocks:
    """A stack of transformer layers, for activation memory."""

    depth: int
    seq: int  # tokens per example
    width: int
    heads: int
    layer_params: int  # parameters of one layer


@dataclasses.dataclass(frozen=True)
class PathwayCost:
    """One pathway: its parameters and the forward FLOPs of one example (one batch row)."""

    name: str
    type: str
    kind: str
    params: int
    embedding_params: int
    tokens: int  # tokens this pathway processes per example (patches, audio frames, positions)
    forward_flops: float  # per example
    blocks: tuple[Blocks, ...] = ()
    estimated: bool = False

    @property
    def non_embedding_params(self) -> int:
        return self.params - self.embedding_params


def _shapes(graph: ResolvedGraph, node) -> dict[str, tuple]:
    """Input port -> shape of what is wired into it (a list of shapes for a variadic port)."""
    out = {}
    for port, refs in node.wiring.items():
        out[port] = [graph.values[r].shape for r in refs] if isinstance(refs, tuple) else graph.values[refs].shape
    return out


def _token_embedding(cfg, module, shapes):
    t = shapes["tokens"][1]
    return dict(tokens=t, embedding_params=count_params(module), forward_flops=0.0)


def _vit_encoder(cfg, module, shapes):
    n = (cfg.image_size[0] // cfg.patch) * (cfg.image_size[1] // cfg.patch)
    emb = count_params(module.position)
    dense = count_params(module) - emb
    per_token = 2 * dense + 4 * cfg.depth * n * cfg.width
    blocks = (Blocks(cfg.depth, n, cfg.width, cfg.heads, count_params(module.blocks) // cfg.depth),)
    return dict(tokens=n, embedding_params=emb, forward_flops=float(n * per_token), blocks=blocks)


def _audio_encoder(cfg, module, shapes):
    frames = num_frames(cfg.num_samples, cfg.frame_length, cfg.hop_length)
    n = cfg.num_tokens()
    conv1 = count_params(module.conv1)  # runs on every frame; the rest on every (2x subsampled) token
    rest = count_params(module) - conv1
    flops = 2 * conv1 * frames + n * (2 * rest + 4 * cfg.depth * n * cfg.width)
    blocks = (Blocks(cfg.depth, n, cfg.width, cfg.heads, count_params(module.blocks) // cfg.depth),)
    return dict(tokens=n, embedding_params=0, forward_flops=float(flops), blocks=blocks)


def _cross_attention(block_params: int, kv_params: int, layers: int, queries: int, context: int, d_attn: int) -> float:
    """Gated cross-attention layers: q/o/MLP on the queries, k/v on the context, full attention."""
    return 2 * (block_params - kv_params) * queries + 2 * kv_params * context + 4 * layers * queries * context * d_attn


def _late_fusion(cfg, module, shapes):
    t, n = shapes["x"][1], shapes["context"][1]
    attn = module.block.attn
    kv = count_params(attn.k_proj) + count_params(attn.v_proj)
    flops = _cross_attention(count_params(module), kv, 1, t, n, cfg.heads * cfg.head_dim)
    return dict(tokens=t, embedding_params=0, forward_flops=flops, blocks=(Blocks(1, t, cfg.width, cfg.heads, count_params(module)),))


def _gemma_decoder(cfg, module, shapes):
    s, d_attn = shapes["x"][1], cfg.heads * cfg.head_dim
    own = count_params(module.blocks) + count_params(module.final_norm)
    flops = s * (2 * own + 2 * cfg.depth * s * d_attn)
    blocks = [Blocks(cfg.depth, s, cfg.width, cfg.heads, count_params(module.blocks) // cfg.depth)]
    if module.cross is not None:
        groups, attn = module.cross.num, module.cross.layers.attn
        kv = count_params(attn.k_proj) + count_params(attn.v_proj)
        flops += _cross_attention(count_params(module.cross), kv, groups, s, shapes["context"][1], d_attn)
        blocks.append(Blocks(groups, s, cfg.width, cfg.heads, count_params(module.cross) // groups))
    return dict(tokens=s, embedding_params=0, forward_flops=float(flops), blocks=tuple(blocks))


def _lm_head(cfg, module, shapes):
    s = shapes["x"][1]
    return dict(tokens=s, embedding_params=0, forward_flops=float(2 * cfg.width * cfg.vocab_size * s))


def _classifier_head(cfg, module, shapes):
    return dict(tokens=shapes["x"][1], embedding_params=0, forward_flops=float(2 * count_params(module)))


def _early_fusion(cfg, module, shapes):
    tokens = sum(s[1] for s in shapes["prefix"]) + shapes["text"][1]
    return dict(tokens=tokens, embedding_params=0, forward_flops=0.0)  # concatenation only


COUNTERS = {
    "token_embedding": _token_embedding,
    "vit_encoder": _vit_encoder,
    "audio_encoder": _audio_encoder,
    "early_fusion": _early_fusion,
    "late_fusion": _late_fusion,
    "gemma_decoder": _gemma_decoder,
    "lm_head": _lm_head,
    "classifier_head": _classifier_head,
}


def pathway_costs(graph: ResolvedGraph) -> dict[str, PathwayCost]:
    """Parameters (embedding / non-embedding) and forward FLOPs per example of every pathway.

    Abstract: the model is built with `eqx.filter_eval_shape`, nothing is allocated.
    """
    model = build_abstract(graph)
    costs = {}
    for name, node in graph.nodes.items():
        module = model.pathways[name]
        params = count_params(module)
        counter = COUNTERS.get(node.cls.type_name)
        if counter is None:
            out = [graph.values[f"{name}.{p}"].shape for p in node.outputs]
            tokens = next((s[1] for s in out if len(s) == 3), 1)
            info = dict(tokens=tokens, embedding_params=0, forward_flops=float(2 * params * tokens), estimated=True)
        else:
            info = counter(node.cfg, module, _shapes(graph, node))
        costs[name] = PathwayCost(name, node.cls.type_name, node.cls.kind, params, **info)
    return costs


def decoder_of(costs: dict[str, PathwayCost]) -> str:
    """The pathway whose sequence positions are the plan's tokens: the largest decoder."""
    decoders = [n for n, c in costs.items() if c.kind == "decoder"]
    if not decoders:
        raise PlanError([Problem("pathways", "no decoder pathway: a plan counts costs per token of a decoder's sequence")])
    return max(decoders, key=lambda n: costs[n].params)


def with_sequence_length(graph: ResolvedGraph, seq_len: int) -> ResolvedGraph:
    """The graph re-validated with its text length changed so the decoder sees `seq_len` positions.

    The text length is the named dim (e.g. `T`) of the batch field feeding a
    `token_embedding`; modality prefixes (early fusion) keep their length.
    """
    costs = pathway_costs(graph)
    dec = decoder_of(costs)
    current = costs[dec].tokens
    if seq_len == current:
        return graph
    spec = graph.loaded.spec
    dims = set()
    for node in graph.nodes.values():
        ref = node.wiring.get("tokens") if node.cls.type_name == "token_embedding" else None
        if isinstance(ref, str) and ref.startswith("batch."):
            dim = spec.batch[ref.removeprefix("batch.")].shape[1]
            if isinstance(dim, str):
                dims.add(dim)
    if len(dims) != 1:
        raise PlanError([Problem("--seq-len", "needs the text length to be one named dim of the token batch field (e.g. [B, T])")])
    dim = dims.pop()
    new = spec.dims[dim] + seq_len - current
    if new < 1:
        prefix = current - spec.dims[dim]
        raise PlanError([Problem("--seq-len", f"{seq_len} leaves no room for text after the {prefix}-token modality prefix")])
    loaded = dataclasses.replace(graph.loaded, spec=spec.model_copy(update={"dims": {**spec.dims, dim: new}}))
    regraph = resolve(loaded)
    got = pathway_costs(regraph)[dec].tokens
    if got != seq_len:
        raise PlanError([Problem("--seq-len", f"setting {dim}={new} gave {dec} {got} positions, not {seq_len}")])
    return regraph


def flops_per_token(costs: dict[str, PathwayCost], decoder: str) -> dict[str, float]:
    """Forward, training (3x forward) and inference FLOPs per decoder position, all pathways included."""
    forward = sum(c.forward_flops for c in costs.values()) / costs[decoder].tokens
    return {"forward": forward, "training": 3 * forward, "inference": forward}

