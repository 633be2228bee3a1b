"""Loading a trained model: a checkpoint (or run directory) in, the built model with its weights out.

The one loader: `pathways.load`, evaluation, generation and `lora-merge` all come through `load_trained`.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax

from pathways._errors import Problem
from pathways.config import load_config
from pathways.graph import Graph, build, resolve
from pathways.train import _checkpoint as ckpt


def checkpoint_adapter(c: ckpt.Checkpoint):
    """The adapter class and validated config an adapter checkpoint was trained with, looked up by its recorded type."""
    from pathways.plugins import adapter_registry

    record = c.state.adapter
    entry, cfg, problems = adapter_registry().configure(record["type"], record.get("config"), type_at=("adapter", "type"), config_at=("adapter", "config"))
    if problems:  # e.g. the plugin that provided it is not installed here
        raise ckpt.CheckpointError([Problem(p.where, p.message, str(c.path / "state.json")) for p in problems])
    return entry.cls, cfg


def load_trained(path: str | Path, *, check_memory: bool = False, mode: str = "generate") -> tuple[Graph, ckpt.Checkpoint]:
    """The model of a checkpoint, weights loaded, and the checkpoint it came from.

    `path` is a checkpoint directory or a run directory (its newest good
    checkpoint). An adapter checkpoint brings its base and gives the adapted model.
    With `check_memory`, a model the devices cannot hold is refused before it is
    allocated (`mode`: what it will be used for, as `pathways.plan.preflight` takes).
    """
    c = ckpt.load(path)
    graph = resolve(load_config(c.path / "config.yaml", stored=True))
    if check_memory:
        from pathways.plan import preflight

        preflight(graph, mode)
    model = build(graph, jax.random.key(0))
    if not c.state.adapter:
        return ckpt.load_into(model, c.params, set())[0], c
    adapter, cfg = checkpoint_adapter(c)
    model, _ = ckpt.load_into(model, ckpt.load(ckpt.base_of(c)).params, set())
    names = list(c.state.adapter["pathways"])
    adapted = {n: adapter.apply(model.pathways[n], cfg, key=jax.random.key(0)) for n in names}
    flat = ckpt.flatten(adapted)  # base weights, then the checkpoint's adapter parameters on top
    flat.update(c.params)
    adapted = ckpt.unflatten(adapted, flat, source=str(c.path / "model.safetensors"))
    return eqx.tree_at(lambda m: [m.pathways[n] for n in names], model, [adapted[n] for n in names]), c


def load_adapted_model(path: str | Path) -> tuple[Graph, ckpt.Checkpoint, object]:
    """The adapted model of an adapter checkpoint, the checkpoint, and its adapter class; an error for any other checkpoint."""
    model, c = load_trained(path)
    if not c.state.adapter:
        raise ckpt.CheckpointError([Problem("", "not an adapter checkpoint (state.json records no adapter): it holds whole weights already", str(c.path))])
    return model, c, checkpoint_adapter(c)[0]
