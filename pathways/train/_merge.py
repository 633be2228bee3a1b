"""Fold a LoRA checkpoint's adapters into its base weights, giving a plain checkpoint."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx

from pathways.train import _checkpoint as ckpt
from pathways.train._load import load_lora_model
from pathways.train._state import CheckpointState


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


