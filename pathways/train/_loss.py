"""Training objectives on the model's outputs."""

from __future__ import annotations

import jax.numpy as jnp
import optax
from jaxtyping import Array

from pathways.config import LossSpec

PAD_ID = 0


def next_token_loss(logits: Array, targets: Array, mask: Array | None = None, segment_ids: Array | None = None) -> tuple[Array, Array]:
    """Mean cross-entropy of predicting `targets[:, t+1]` from position `t`; returns (loss, token count).

    `logits [B, S, V]` may cover a modality prefix (`S > T`): the text is the last `T` positions.
    Padding targets never count; with `mask [B, T] bool` only targets where it is True do
    (a chat response mask: the loss is on the replies, not the prompts); with packed
    `segment_ids [B, T]` no target is predicted from the previous segment's last token.
    """
    S, T = logits.shape[1], targets.shape[1]
    pred = logits[:, S - T : S - 1].astype(jnp.float32)  # [B, T-1, V]
    tgt = targets[:, 1:]  # [B, T-1]
    keep = tgt != PAD_ID
    if mask is not None:
        keep = keep & mask[:, 1:].astype(bool)
    if segment_ids is not None:
        keep = keep & (segment_ids[:, 1:] == segment_ids[:, :-1])
    mask = keep.astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(pred, tgt)
    count = jnp.sum(mask)
    return jnp.sum(ce * mask) / jnp.maximum(count, 1.0), count


def classification_loss(logits: Array, targets: Array) -> tuple[Array, Array]:
    ce = optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), targets)
    return jnp.mean(ce), jnp.asarray(targets.shape[0], jnp.float32)


LOSSES = {"next_token": next_token_loss, "classification": classification_loss}
SEQUENCE_LOSSES = frozenset({"next_token"})  # over [B, T] targets: they take `mask` and `segment_ids`


def total_loss(specs: list[LossSpec], outputs, batch) -> tuple[Array, dict[str, Array]]:
    """Weighted sum of the configured losses, and each one by name (`loss/<logits>`)."""
    total = jnp.zeros((), jnp.float32)
    metrics = {}
    for spec in specs:
        extra = {k: batch[ref.removeprefix("batch.")] for k in ("mask", "segment_ids") if (ref := getattr(spec, k)) is not None}
        loss, _ = LOSSES[spec.type](outputs[spec.logits], batch[spec.targets.removeprefix("batch.")], **extra)
        metrics[f"loss/{spec.logits}"] = loss
        total = total + spec.weight * loss
    return total, metrics
