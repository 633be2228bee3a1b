"""What trains: the one selection (which pathways, and how) and the freezing split it makes.

`train.trainable` (or `--pathway`) names the pathways that train; `train.adapter`
(or `--adapter`, `--lora-rank`) says how: their own weights by default, or an
adapter's new parameters wrapped around them. `select` turns that into the model
to train and a static filter tree, applied with `eqx.partition`. The trainable
half is the only differentiated argument of the train step, so frozen pathways get
no gradients (XLA drops their weight-gradient work), no optimizer state and no
weight decay, and cannot drift.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import equinox as eqx
import jax

from pathways._errors import ConfigError, Problem
from pathways.config import AdapterSpec
from pathways.graph import Graph
from pathways.nn import Stack, count_params


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which pathways train (`names`; None: every pathway with parameters) and how (`adapter`, with its `config`)."""

    names: tuple[str, ...] | None = None
    adapter: Any = None  # a registered `pathways.adapters.Adapter` subclass
    config: Any = None  # its validated `Config`

    @property
    def adapter_record(self) -> dict[str, Any] | None:
        """What a checkpoint records of the adapter (`CheckpointState.adapter`), without the pathways."""
        if self.adapter is None:
            return None
        return {"type": self.adapter.type_name, "config": self.config.model_dump(mode="json")}

    @classmethod
    def from_config(cls, trainable: list[str] | None, adapter: AdapterSpec | None, *, type_at=("train", "adapter", "type"), config_at=("train", "adapter", "config")) -> "Selection":
        """The selection a `train` section makes; an unknown adapter or an invalid adapter config is a `ConfigError` placed at `type_at` / `config_at`."""
        names = None if trainable is None else tuple(trainable)
        if adapter is None:
            return cls(names)
        from pathways.plugins import adapter_registry

        entry, cfg, problems = adapter_registry().configure(adapter.type, adapter.config, type_at=type_at, config_at=config_at)
        if problems:
            raise ConfigError(problems)
        return cls(names, entry.cls, cfg)


def select(model: Graph, sel: Selection, *, key) -> tuple[Graph, Any]:
    """The model to train and its filter tree: True on the leaves that train.

    Without an adapter, the selected pathways' own inexact arrays train. With one, each
    selected pathway (every pathway, when none is named, that the adapter finds something
    to adapt in) is replaced by `adapter.apply(pathway, config, key=...)` and only the
    leaves `adapter.trainable` marks train.
    """
    if sel.adapter is None:
        return model, trainable_spec(model, None if sel.names is None else list(sel.names))
    names = list(sel.names) if sel.names is not None else list(model.pathways)
    unknown = [n for n in names if n not in model.pathways]
    if unknown:
        raise ConfigError([Problem("train.trainable", f"{n!r} is not a pathway of this graph (pathways: {', '.join(model.pathways)})") for n in unknown])
    adapted, problems = {}, []
    for i, name in enumerate(names):
        module = sel.adapter.apply(model.pathways[name], sel.config, key=jax.random.fold_in(jax.random.fold_in(key, 7), i))
        marks = sel.adapter.trainable(module)
        if not any(jax.tree.leaves(marks)):
            if sel.names is not None:  # named explicitly: say so; otherwise the pathway simply stays as it is
                problems.append(Problem("train.trainable", f"adapter {sel.adapter.type_name!r} finds nothing to adapt in pathway {name!r}: train its weights (no adapter) or name another pathway"))
            continue
        adapted[name] = (module, marks)
    if problems:
        raise ConfigError(problems)
    if not adapted:
        raise ConfigError([Problem("train.adapter", f"adapter {sel.adapter.type_name!r} finds nothing to adapt in any pathway ({', '.join(model.pathways)})")])
    chosen = list(adapted)
    model = eqx.tree_at(lambda m: [m.pathways[n] for n in chosen], model, [adapted[n][0] for n in chosen])
    spec = jax.tree.map(lambda _: False, model)
    return model, eqx.tree_at(lambda s: [s.pathways[n] for n in chosen], spec, [adapted[n][1] for n in chosen])


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
