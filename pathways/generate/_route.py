"""Which pathways play which part in generation, found by their declared roles (`Component.roles`).

Nothing here knows a built-in type name: a plugin's token embedding, cached
decoder, fusion block or LM head takes the same path as the built-ins.
"""

from __future__ import annotations

import dataclasses

from pathways._errors import ConfigError, Problem
from pathways.components import ROLES
from pathways.graph import ResolvedGraph

FUSION_TEXT_PORT = {"early_fusion": "text", "late_fusion": "x"}  # where the token stream enters each fusion role


@dataclasses.dataclass(frozen=True)
class DecodeRoute:
    """The token path of a graph: `batch.<tokens> -> text -> [fusion] -> decoder -> head`.

    Everything else (image and audio encoders, ...) does not depend on the
    tokens and is computed once per prompt.
    """

    tokens: str  # batch field holding token ids
    text: str  # the token_embedding pathway
    fusion: str | None
    fusion_type: str | None  # its role: "early_fusion" | "late_fusion" | None
    decoder: str  # the cached_decoder pathway
    head: str  # the lm_head pathway

    @property
    def skip(self) -> frozenset[str]:
        """Pathways generation drives itself instead of running them with the graph (the prompt's
        fusion runs with the graph; new tokens go through a late-fusion block step by step)."""
        return frozenset({self.decoder, self.head})


@dataclasses.dataclass(frozen=True)
class MediaInput:
    """A batch field that carries a modality into a pathway (`Component.media`)."""

    field: str
    modality: str
    pathway: str
    port: str
    mask: str | None = None  # the batch field wired to its mask port, if any


def media_inputs(graph: ResolvedGraph) -> dict[str, MediaInput]:
    """Batch field -> the modality it carries, for every media input wired to the batch."""
    out = {}
    for name, node in graph.nodes.items():
        for port, media in dict(node.cls.media).items():
            ref = node.wiring.get(port)
            if not (isinstance(ref, str) and ref.startswith("batch.")):
                continue
            mask = node.wiring.get(media.mask) if media.mask else None
            mask = mask.removeprefix("batch.") if isinstance(mask, str) and mask.startswith("batch.") else None
            out[ref.removeprefix("batch.")] = MediaInput(ref.removeprefix("batch."), media.modality, name, port, mask)
    return out


def _source(graph: ResolvedGraph, node: str, port: str) -> str | None:
    ref = graph.nodes[node].wiring.get(port)
    return ref.split(".", 1)[0] if isinstance(ref, str) else None


def _role(graph: ResolvedGraph, name: str | None) -> str | None:
    """The role (of those generation uses) pathway `name` declares, if any."""
    node = graph.nodes.get(name) if name else None
    return next((r for r in sorted(node.cls.roles) if r in ROLES), None) if node else None


def decode_route(graph: ResolvedGraph) -> DecodeRoute:
    """Find the token path, or explain in one line why this graph cannot generate."""

    def fail(msg: str) -> ConfigError:
        return ConfigError([Problem("pathways", f"cannot generate with this graph: {msg}")])

    def described(name: str | None) -> str:
        if name is None or name == "batch":
            return "the batch"
        node = graph.nodes[name]
        return f"{name!r} ({node.cls.type_name}, roles: {', '.join(sorted(node.cls.roles)) or 'none'})"

    heads = [n for n, node in graph.nodes.items() if "lm_head" in node.cls.roles]
    if not heads:
        raise fail("no pathway has the lm_head role")
    outs = [o.split(".", 1)[0] for o in graph.outputs]
    head = next((h for h in heads if h in outs), heads[0])
    decoder = _source(graph, head, "x")
    if _role(graph, decoder) != "cached_decoder":
        raise fail(f"{head}.x comes from {described(decoder)}, not from a pathway with the cached_decoder role")
    src = _source(graph, decoder, "x")
    kind = _role(graph, src)
    fusion, text = None, src
    if kind in FUSION_TEXT_PORT:
        fusion, text = src, _source(graph, src, FUSION_TEXT_PORT[kind])
    elif kind != "token_embedding":
        raise fail(f"{decoder}.x comes from {described(src)}: it must come from a token_embedding, early_fusion or late_fusion role")
    if _role(graph, text) != "token_embedding":
        raise fail(f"the text stream into {fusion or decoder} comes from {described(text)}, not from a token_embedding role")
    tokens = graph.nodes[text].wiring.get("tokens")
    if not (isinstance(tokens, str) and tokens.startswith("batch.")):
        raise fail(f"{text}.tokens must be a batch field")
    return DecodeRoute(tokens.removeprefix("batch."), text, fusion, kind if fusion else None, decoder, head)
