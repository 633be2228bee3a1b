"""Pathways: compose, grow and fine-tune Gemini-style multimodal models in JAX.

    import pathways
    graph = pathways.validate("examples/image_text.yaml")   # no parameters allocated
    model = pathways.build(graph, jax.random.key(0))         # one equinox Module
    out = eqx.filter_jit(model)(batch)                       # {"lm_head.logits": ...}

    model = pathways.load("runs/digits")                     # a trained model, weights loaded
    model.config, model.graph.tokenizer                      # what it was built from
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING

from pathways._errors import ConfigError, PathwaysError, PluginError, Problem
from pathways._markers import hookimpl

if TYPE_CHECKING:
    from pathways.components import Blocks, Component, ComponentConfig, Cost, Media, MediaError, Port
    from pathways.config import load_config
    from pathways.graph import Graph, ResolvedGraph, build, build_abstract, resolve

# Imported on first use, so that `pathways --help` does not wait for JAX.
_LAZY = {
    **dict.fromkeys(("Blocks", "Component", "ComponentConfig", "Cost", "Media", "MediaError", "Port"), "pathways.components"),
    "load_config": "pathways.config",
    **dict.fromkeys(("Graph", "ResolvedGraph", "build", "build_abstract", "resolve"), "pathways.graph"),
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pathways' has no attribute {name!r}")

__version__ = "0.1.0"


def validate(path: str | Path) -> ResolvedGraph:
    """Load a config file and check it end to end (types, edges, cycles, shapes)."""
    from pathways.config import load_config
    from pathways.graph import resolve

    return resolve(load_config(path))


def load(checkpoint: str | Path) -> Graph:
    """The trained model of a checkpoint (or a run directory's newest), weights loaded.

    `model(batch)` returns the config's outputs keyed `pathway.port`; `model.config`
    is the config it was trained with, `model.graph` its validated graph. A LoRA
    checkpoint gives the adapted model (its base weights plus the adapters).
    """
    from pathways.train import load_trained

    return load_trained(checkpoint)[0]


def load_model(path: str | Path, key) -> Graph:
    """Validate a config file and build its model with freshly initialised parameters."""
    from pathways.graph import build

    return build(validate(path), key)


__all__ = [
    "Blocks",
    "Component",
    "ComponentConfig",
    "ConfigError",
    "Cost",
    "Graph",
    "Media",
    "MediaError",
    "PathwaysError",
    "PluginError",
    "Port",
    "Problem",
    "ResolvedGraph",
    "build",
    "build_abstract",
    "hookimpl",
    "load",
    "load_config",
    "load_model",
    "resolve",
    "validate",
]
