"""The composed model: one equinox Module running its pathways in topological order."""

from __future__ import annotations

from typing import Mapping

import equinox as eqx
import jax
from jaxtyping import Array, PRNGKeyArray

from pathways.components import Component
from pathways.graph._resolve import ResolvedGraph, node_key

Wiring = tuple[tuple[str, str | tuple[str, ...]], ...]


class Graph(eqx.Module):
    """A model composed of pathways.

    `pathways` maps each pathway name to its component (so parameters are
    addressed `<pathway>.<parameter path>`); the wiring (each pathway in execution
    order with its input references) and the output names are static. Calling the graph on a batch dict returns a dict of the
    requested outputs (`"lm_head.logits"`, ...). The whole call is `jit`-able and
    traces to the same program as the components called by hand. `graph` is the
    validated config it was built from (`model.graph.tokenizer`, `model.config`).
    """

    pathways: dict[str, Component]
    wiring: tuple[tuple[str, Wiring], ...] = eqx.field(static=True)
    outputs: tuple[str, ...] = eqx.field(static=True)
    graph: ResolvedGraph | None = eqx.field(static=True, default=None)

    @property
    def config(self):
        """The config (`ModelSpec`) this model was built from; None for a `Graph` assembled by hand."""
        return None if self.graph is None else self.graph.loaded.spec

    def __call__(self, batch: Mapping[str, Array]) -> dict[str, Array]:
        values = self.forward(batch)
        return {out: values[out] for out in self.outputs}

    def forward(self, batch: Mapping[str, Array], *, skip: frozenset[str] = frozenset()) -> dict[str, Array]:
        """Every value of the graph (`batch.FIELD` and `PATHWAY.PORT`), leaving out the `skip` pathways.

        Pathways downstream of a skipped one are skipped too (generation uses
        this to run the encoders once and drive the decoder itself).
        """
        values: dict[str, Array] = {f"batch.{k}": v for k, v in batch.items()}
        for name, wiring in self.wiring:
            if name in skip or any(r not in values for _, ref in wiring for r in (ref if isinstance(ref, tuple) else (ref,))):
                continue
            kwargs = {port: tuple(values[r] for r in ref) if isinstance(ref, tuple) else values[ref] for port, ref in wiring}
            for port, value in self.pathways[name](**kwargs).items():
                values[f"{name}.{port}"] = value
        return values


def param_key(path) -> str:
    """The dotted name of a leaf from its pytree path: `pathways.decoder.blocks.layers.attn.q_proj.weight`.

    Checkpoints, sharding rules and interop all name parameters this way.
    """
    return jax.tree_util.keystr(path, simple=True, separator=".")


def build(graph: ResolvedGraph, key: PRNGKeyArray) -> Graph:
    """Allocate every pathway's parameters and assemble the `Graph`."""
    pathways = {name: node.cls(node.cfg, key=node_key(key, name)) for name, node in graph.nodes.items()}
    wiring = tuple((name, tuple(sorted(node.wiring.items()))) for name, node in graph.nodes.items())
    return Graph(pathways=pathways, wiring=wiring, outputs=graph.outputs, graph=graph)


def build_abstract(graph: ResolvedGraph) -> Graph:
    """The same `Graph` with `ShapeDtypeStruct` leaves: no memory is allocated."""
    return eqx.filter_eval_shape(build, graph, jax.random.key(0))
