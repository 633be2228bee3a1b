"""Fold an adapter checkpoint's adapters into its base weights, giving a plain checkpoint."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx

from pathways.train import _checkpoint as ckpt
from pathways.train._load import load_adapted_model
from pathways.train._state import CheckpointState


def merge_adapters(path: str | Path, out: str | Path) -> Path:
    """Write a full checkpoint to `out` whose weights are the adapted ones folded back (LoRA: `W + scale * A @ B`)."""
    model, c, adapter = load_adapted_model(path)
    names = list(c.state.adapter["pathways"])
    merged = eqx.tree_at(lambda m: [m.pathways[n] for n in names], model, [adapter.merge(model.pathways[n]) for n in names])
    config = dict(c.config)
    config["train"] = {k: v for k, v in (config.get("train") or {}).items() if k not in ("lora", "adapter")}
    state = CheckpointState(step=c.state.step, merged_from=str(c.path), tokenizer=c.state.tokenizer)
    tokenizer = c.path / "tokenizer.model"
    extra = {"tokenizer.model": tokenizer.read_bytes()} if tokenizer.exists() else None
    return ckpt.write(Path(out), params=ckpt.model_params(merged), opt_state=None, state=state, config=config, extra=extra)
