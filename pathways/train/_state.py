"""`state.json`: what a checkpoint records beside its tensors, as one typed record written and read here."""

from __future__ import annotations

import dataclasses
import json
from typing import Any


@dataclasses.dataclass(frozen=True)
class CheckpointState:
    """The metadata of one checkpoint.

    Attributes:
        step: optimizer steps taken.
        seed, data_position: the run's seed and the index of the next (micro-)batch (exact resume).
        trainable: pathways whose weights (or adapters) this run trained.
        config_sha256: hash of the config the checkpoint was written with.
        tokenizer: the tokenizer's identity (type, vocabulary size, hash), or None.
        base_checkpoint, base_sha256: the checkpoint an adapter run adapts, and its content hash.
        adapter: of an adapter-only checkpoint: `{"type", "config", "pathways"}` (the adapter, its
            settings and the pathways it wraps); None when the checkpoint holds whole weights.
        optimizer_state: whether `optimizer.safetensors` was written.
        imported_from, merged_from: where an imported or LoRA-merged checkpoint came from.
    """

    step: int
    seed: int | None = None
    data_position: int | None = None
    trainable: tuple[str, ...] = ()
    config_sha256: str | None = None
    tokenizer: dict[str, Any] | None = None
    base_checkpoint: str | None = None
    base_sha256: str | None = None
    adapter: dict[str, Any] | None = None
    optimizer_state: bool = False
    imported_from: dict[str, Any] | None = None
    merged_from: str | None = None

    def to_json(self) -> str:
        return json.dumps({**dataclasses.asdict(self), "trainable": list(self.trainable)}, indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CheckpointState":
        """From a parsed state.json; keys this version does not know are ignored, missing ones take their defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["trainable"] = tuple(values.get("trainable") or ())
        lora = data.get("lora")
        if isinstance(lora, dict) and not values.get("adapter"):  # written before adapters were chosen by type
            values["adapter"] = {"type": "lora", "config": {"rank": lora["rank"], "alpha": lora["alpha"]}, "pathways": [lora["pathway"]]}
        return cls(**values)
