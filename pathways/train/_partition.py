"""Freezing: split a model into the pathways being trained and the frozen rest.

The split is a static filter tree built from pathway names and applied with
`eqx.partition`. The trainable half is the only differentiated argument of the
train step, so frozen pathways get no gradients (XLA drops their weight-gradient
work), no optimizer state and no weight decay, and cannot drift.
"""

from __future__ import annotations

import equinox as eqx
import jax

from pathways._errors import ConfigError, Problem
from pathways.graph import Graph
from pathways.nn import Stack, count_params


def trainable_spec(model: Graph, names: list[str] | None, *, leaf_filter=eqx.is_inexact_array):
    """Filter tree: `leaf_filter(leaf)` inside the named pathways, False everywhere else.

    `names=None` selects every pathway. Raises `ConfigError` for a name that is not
    a pathway or a pathway with nothing to train (e.g. a tied LM head, whose matrix
    belongs to the text pathway).
    """
    if names is None:  # everything that has parameters
        names = [n for n, p in model.pathways.items() if count_params(eqx.filter(p, leaf_filter))]
    problems = []
    for name in names:
        if name not in model.pathways:
            problems.append(Problem("train.trainable", f"{name!r} is not a pathway of this graph (pathways: {', '.join(model.pathways)})"))
        elif count_params(eqx.filter(model.pathways[name], leaf_filter)) == 0:
            problems.append(Problem("train.trainable", _nothing_to_train(model, name)))
    if problems:
        raise ConfigError(problems)
    spec = jax.tree.map(lambda _: False, model)
    return eqx.tree_at(
        lambda m: [m.pathways[n] for n in names],
        spec,
        [jax.tree.map(leaf_filter, model.pathways[n]) for n in names],
    )


def _nothing_to_train(model: Graph, name: str) -> str:
    """Why pathway `name` cannot be trained: it has no parameters, or (a tied head) it borrows another's."""
    node = model.graph.nodes.get(name) if model.graph is not None else None
    what = f"pathway {name!r}" + (f" ({node.cls.type_name})" if node else "")
    # A weight it reads from another pathway comes in through an unbatched input (no symbolic dims): `embedding [V, D]`.
    borrowed = [
        ref.split(".", 1)[0]
        for port, ref in (node.wiring.items() if node else ())
        if isinstance(ref, str) and not ref.startswith("batch.") and all(isinstance(d, int) for d in node.inputs[port].shape)
    ]
    if borrowed:
        return f"{what} has no parameters of its own: it is tied to {borrowed[0]!r}'s matrix, so train {borrowed[0]!r} instead"
    return f"{what} has no parameters: there is nothing in it to train"


def parameter_counts(model: Graph, spec) -> dict[str, tuple[int, int]]:
    """Per pathway: (trainable, frozen) parameter counts."""
    trainable, frozen = eqx.partition(model, spec)
    return {
        name: (count_params(trainable.pathways[name]), count_params(frozen.pathways[name]))
        for name in model.pathways
    }


def decay_mask(params, depth: int = 0):
    """True on matrices (ndim >= 2 once stacked layer axes are discounted), False on norms, biases, gates."""

    def leaf(x):
        if isinstance(x, Stack):
            return eqx.tree_at(lambda s: s.layers, x, decay_mask(x.layers, depth + 1))
        if eqx.is_array(x):
            return x.ndim - depth >= 2
        return x

    return jax.tree.map(leaf, params, is_leaf=lambda x: isinstance(x, Stack))
