"""Summaries of a resolved graph, computed abstractly (no parameters allocated)."""

from __future__ import annotations

from typing import Any

import jax

from pathways.graph._model import build_abstract
from pathways.graph._resolve import ResolvedGraph
from pathways.nn import count_params


def summarize(graph: ResolvedGraph) -> dict[str, Any]:
    """Per pathway: type, kind, plugin, parameter count and output shapes; plus totals.

    Shapes are those of the config's `dims`. Works on any size of model because
    the graph is built with `eqx.filter_eval_shape`.
    """
    model = build_abstract(graph)
    pathways = {}
    for name, node in graph.nodes.items():
        outs = {p: _shape(graph.values[f"{name}.{p}"]) for p in node.outputs}
        pathways[name] = {
            "type": node.cls.type_name,
            "kind": node.cls.kind,
            "plugin": node.plugin,
            "params": count_params(model.pathways[name]),
            "outputs": outs,
        }
    return {
        "name": graph.loaded.spec.name,
        "config": graph.loaded.path,
        "batch": {k: _shape(v) for k, v in graph.batch.items()},
        "pathways": pathways,
        "outputs": list(graph.outputs),
        "total_params": sum(p["params"] for p in pathways.values()),
    }


def _shape(v: jax.ShapeDtypeStruct) -> dict[str, Any]:
    return {"shape": list(v.shape), "dtype": str(v.dtype)}
