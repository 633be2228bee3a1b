"""Fold a LoRA checkpoint's adapters into its base weights, giving a plain checkpoint."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax

from pathways._errors import Problem
from pathways.config import load_config
from pathways.graph import Graph, build, resolve
from pathways.plugins import adapter_registry
from pathways.train import _checkpoint as ckpt
from pathways.train._state import CheckpointState


def load_lora_model(path: str | Path) -> tuple[Graph, ckpt.Checkpoint, object]:
    """The adapted model of a LoRA checkpoint: its base weights plus its adapters."""
    c = ckpt.load(path)
    lora_cfg = c.state.lora
    if not lora_cfg:
        raise ckpt.CheckpointError([Problem("", "not a LoRA checkpoint (state.json has no 'lora')", str(c.path))])
    loaded = load_config(c.path / "config.yaml")
    graph = resolve(loaded)
    model = build(graph, jax.random.key(0))
    base = ckpt.load(ckpt.base_of(c))
    model, _ = ckpt.load_into(model, base.params, set())
    lora = adapter_registry().get("lora").cls
    name = lora_cfg["pathway"]
    adapted = lora.apply(model.pathways[name], rank=lora_cfg["rank"], alpha=lora_cfg["alpha"], key=jax.random.key(0))
    flat = ckpt.flatten(adapted)  # base weights, then the checkpoint's adapter matrices on top
    flat.update({k.split(".", 1)[1]: v for k, v in c.params.items()})
    adapted = ckpt.unflatten(adapted, flat)
    model = eqx.tree_at(lambda m: m.pathways[name], model, adapted)
    return model, c, lora


def merge_lora(path: str | Path, out: str | Path) -> Path:
    """Write a full checkpoint to `out` whose weights are `W + scale * A @ B` for every adapted layer."""
    model, c, lora = load_lora_model(path)
    name = c.state.lora["pathway"]
    merged = eqx.tree_at(lambda m: m.pathways[name], model, lora.merge(model.pathways[name]))
    config = dict(c.config)
    config["train"] = {k: v for k, v in (config.get("train") or {}).items() if k != "lora"}
    state = CheckpointState(step=c.state.step, merged_from=str(c.path), tokenizer=c.state.tokenizer)
    tokenizer = c.path / "tokenizer.model"
    extra = {"tokenizer.model": tokenizer.read_bytes()} if tokenizer.exists() else None
    return ckpt.write(Path(out), params=ckpt.model_params(merged), opt_state=None, state=state, config=config, extra=extra)


