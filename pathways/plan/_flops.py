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
Each component counts itself (`Component.cost`); one that does not (a plugin's,
say) is estimated as `2 x params x tokens`, with tokens the length of its first
sequence output, and flagged `estimated`.
"""

from __future__ import annotations

import dataclasses

from pathways._errors import Problem
from pathways.components import Blocks
from pathways.graph import ResolvedGraph, build_abstract, resolve
from pathways.nn import count_params
from pathways.plan._hardware import PlanError


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
    roles: frozenset[str] = frozenset()

    @property
    def non_embedding_params(self) -> int:
        return self.params - self.embedding_params


def _shapes(graph: ResolvedGraph, node) -> dict[str, tuple]:
    """Input port -> shape of what is wired into it (a list of shapes for a variadic port)."""
    out = {}
    for port, refs in node.wiring.items():
        out[port] = [graph.values[r].shape for r in refs] if isinstance(refs, tuple) else graph.values[refs].shape
    return out


def pathway_costs(graph: ResolvedGraph) -> dict[str, PathwayCost]:
    """Parameters (embedding / non-embedding) and forward FLOPs per example of every pathway.

    Abstract: the model is built with `eqx.filter_eval_shape`, nothing is allocated.
    """
    model = build_abstract(graph)
    costs = {}
    for name, node in graph.nodes.items():
        module = model.pathways[name]
        params = count_params(module)
        own = node.cls.cost(node.cfg, module, _shapes(graph, node))
        if own is None:
            out = [graph.values[f"{name}.{p}"].shape for p in node.outputs]
            tokens = next((s[1] for s in out if len(s) == 3), 1)
            info = dict(tokens=tokens, embedding_params=0, forward_flops=float(2 * params * tokens), estimated=True)
        else:
            info = dict(tokens=own.tokens, embedding_params=own.embedding_params, forward_flops=own.forward_flops, blocks=own.blocks)
        costs[name] = PathwayCost(name, node.cls.type_name, node.cls.kind, params, **info, roles=node.cls.roles)
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
    token embedding (a pathway with that role); modality prefixes (early fusion) keep their length.
    """
    costs = pathway_costs(graph)
    dec = decoder_of(costs)
    current = costs[dec].tokens
    if seq_len == current:
        return graph
    spec = graph.loaded.spec
    dims = set()
    for node in graph.nodes.values():
        ref = node.wiring.get("tokens") if "token_embedding" in node.cls.roles else None
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

