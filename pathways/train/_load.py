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
from pathways.plugins import adapter_registry
from pathways.train import _checkpoint as ckpt


def load_trained(path: str | Path, *, check_memory: bool = False, mode: str = "generate") -> tuple[Graph, ckpt.Checkpoint]:
    """The model of a checkpoint, weights loaded, and the checkpoint it came from.

    `path` is a checkpoint directory or a run directory (its newest good
    checkpoint). A LoRA checkpoint brings its base and gives the adapted model.
    With `check_memory`, a model the devices cannot hold is refused before it is
    allocated (`mode`: what it will be used for, as `pathways.plan.preflight` takes).
    """
    c = ckpt.load(path)
    graph = resolve(load_config(c.path / "config.yaml"))
    if check_memory:
        from pathways.plan import preflight

        preflight(graph, mode)
    model = build(graph, jax.random.key(0))
    if not c.state.lora:
        return ckpt.load_into(model, c.params, set())[0], c
    model, _ = ckpt.load_into(model, ckpt.load(ckpt.base_of(c)).params, set())
    name, lora = c.state.lora["pathway"], adapter_registry().get("lora").cls
    adapted = lora.apply(model.pathways[name], rank=c.state.lora["rank"], alpha=c.state.lora["alpha"], key=jax.random.key(0))
    flat = ckpt.flatten(adapted)  # base weights, then the checkpoint's adapter matrices on top
    flat.update({k.split(".", 1)[1]: v for k, v in c.params.items()})
    return eqx.tree_at(lambda m: m.pathways[name], model, ckpt.unflatten(adapted, flat)), c


def load_lora_model(path: str | Path) -> tuple[Graph, ckpt.Checkpoint, object]:
    """The adapted model of a LoRA checkpoint, the checkpoint, and its adapter class; an error for any other checkpoint."""
    model, c = load_trained(path)
    if not c.state.lora:
        raise ckpt.CheckpointError([Problem("", "not a LoRA checkpoint (state.json has no 'lora')", str(c.path))])
    return model, c, adapter_registry().get("lora").cls
