"""What a checkpoint must agree with before a run continues from it or starts from it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pathways._errors import Problem
from pathways.train import _checkpoint as ckpt

# Settings a resumed run may change freely: they decide what is logged and kept, or how the same
# computation is laid out over devices (a checkpoint saved on one mesh resumes on another), not what
# is computed.
BOOKKEEPING = frozenset({"train.log_every", "train.eval_every", "train.checkpoint_every", "train.keep_checkpoints"})
LAYOUT = "mesh"


def config_hash(config: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def _changes(old: Any, new: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """(dotted place, old, new) for every leaf that differs between two config trees."""
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for k in list(old) + [k for k in new if k not in old]:
            out += _changes(old.get(k), new.get(k), f"{where}.{k}" if where else str(k))
        return out
    return [] if old == new else [(where, old, new)]


def _migrated(config: dict[str, Any]) -> dict[str, Any]:
    """A saved config in today's spelling: `train.lora` (before adapters were chosen by type) as trainable + adapter."""
    train = config.get("train") or {}
    lora = train.get("lora")
    if not isinstance(lora, dict):
        return config
    train = {k: v for k, v in train.items() if k != "lora"}
    train["trainable"] = [lora["pathway"]]
    train["adapter"] = {"type": "lora", "config": {"rank": lora.get("rank", 8), "alpha": lora.get("alpha", 16.0)}}
    return {**config, "train": train}


def config_changes(saved: dict[str, Any], now: dict[str, Any]) -> list[Problem]:
    """What differs between the config a checkpoint was written with and the one resuming it.

    Bookkeeping fields are free; `train.steps` too, except under a cosine schedule,
    whose decay spans `train.steps` (the resumed steps would use other rates).
    """
    cosine = (now.get("train") or {}).get("schedule", {}).get("kind", "cosine") == "cosine"
    problems = []
    for where, old, new in _changes(_migrated(saved), now):
        if where in BOOKKEEPING or where.split(".")[0] == LAYOUT or (where == "train.steps" and not cosine):
            continue
        why = " (the cosine schedule decays over train.steps)" if where == "train.steps" else ""
        problems.append(Problem("--resume", f"{where} changed since the checkpoint: {old!r} -> {new!r}{why}"))
    return problems


def check_tokenizer(c: ckpt.Checkpoint, tokenizer) -> None:
    """A checkpoint's embeddings only make sense with the tokenizer it was trained with."""
    saved = c.state.tokenizer
    now = tokenizer.identity if tokenizer is not None else None
    if saved and now and saved != now:
        raise ckpt.CheckpointError(
            [Problem("tokenizer", f"the checkpoint was trained with tokenizer {_describe(saved)}, the config names {_describe(now)}", str(c.path))]
        )


def _describe(identity: dict) -> str:
    if identity.get("type") == "sentencepiece":
        return f"{identity.get('file')} (sentencepiece, vocab {identity['vocab_size']}, sha256 {identity['sha256'][:12]})"
    return f"{identity.get('type')} (vocab {identity.get('vocab_size')})"
