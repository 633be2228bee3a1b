"""Loading a trained model: a checkpoint (or run directory) in, the built model with its weights out."""

from __future__ import annotations

from pathlib import Path

import jax

from pathways.config import load_config
from pathways.graph import Graph, build, resolve
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
    if c.state.lora:
        from pathways.train._merge import load_lora_model

        return load_lora_model(c.path)[0], c
    model, _ = ckpt.load_into(build(graph, jax.random.key(0)), c.params, set())
    return model, c
