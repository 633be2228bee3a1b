"""Which pathways play which part in generation: text embedding, fusion, decoder, LM head."""

from __future__ import annotations

import dataclasses

from pathways._errors import ConfigError, Problem
from pathways.graph import ResolvedGraph


@dataclasses.dataclass(frozen=True)
class DecodePlan:
    """The token path of a graph: `batch.<tokens> -> text -> [fusion] -> decoder -> head`.

    Everything else (image and audio encoders, ...) does not depend on the
    tokens and is computed once per prompt.
    """

    tokens: str  # batch field holding token ids
    text: str  # token_embedding pathway
    fusion: str | None
    fusion_type: str | None  # "early_fusion" | "late_fusion" | None
    decoder: str
    head: str

    @property
    def skip(self) -> frozenset[str]:
        """Pathways generation drives itself instead of running them with the graph (the prompt's
        fusion runs with the graph; new tokens go through a late-fusion block step by step)."""
        return frozenset({self.decoder, self.head})


def _source(graph: ResolvedGraph, node: str, port: str) -> str | None:
    ref = graph.nodes[node].wiring.get(port)
    return ref if isinstance(ref, str) else None


def plan_decoding(graph: ResolvedGraph) -> DecodePlan:
    """Find the token path, or explain in one line why this graph cannot generate."""

    def fail(msg: str) -> ConfigError:
        return ConfigError([Problem("pathways", f"cannot generate with this graph: {msg}")])

    heads = [n for n, node in graph.nodes.items() if node.cls.type_name == "lm_head"]
    if not heads:
        raise fail("it has no lm_head pathway")
    outs = [o.split(".", 1)[0] for o in graph.outputs]
    head = next((h for h in heads if h in outs), heads[0])
    decoder = (_source(graph, head, "x") or "").split(".", 1)[0]
    if decoder not in graph.nodes or graph.nodes[decoder].cls.type_name != "gemma_decoder":
        raise fail(f"{head}.x does not come from a gemma_decoder")
    src = (_source(graph, decoder, "x") or "").split(".", 1)[0]
    kind = graph.nodes[src].cls.type_name if src in graph.nodes else None
    fusion, text = None, src
    if kind in ("early_fusion", "late_fusion"):
        fusion = src
        text = (_source(graph, src, "text" if kind == "early_fusion" else "x") or "").split(".", 1)[0]
    elif kind != "token_embedding":
        raise fail(f"{decoder}.x must come from a token_embedding, early_fusion or late_fusion pathway, not {kind or src!r}")
    if text not in graph.nodes or graph.nodes[text].cls.type_name != "token_embedding":
        raise fail(f"the text stream into {fusion or decoder} must come from a token_embedding pathway")
    tokens = _source(graph, text, "tokens") or ""
    if not tokens.startswith("batch."):
        raise fail(f"{text}.tokens must be a batch field")
    return DecodePlan(tokens.removeprefix("batch."), text, fusion, kind if fusion else None, decoder, head)
