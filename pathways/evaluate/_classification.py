"""Classification runner: argmax of a classifier head's logits against the label."""

from __future__ import annotations

import functools
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from pathways.evaluate._model import EvalModel
from pathways.evaluate._result import Score
from pathways.graph import Graph


def find_head(em: EvalModel, num_classes: int) -> str | None:
    """The pathway whose `logits` are `[B, num_classes]`, preferring a declared output; None if there is none."""
    heads = [n for n in em.graph.nodes if (v := em.graph.values.get(f"{n}.logits")) is not None and len(v.shape) == 2 and v.shape[1] == num_classes]
    outputs = [h for h in heads if f"{h}.logits" in em.graph.outputs]
    return (outputs or heads or [None])[0]


@functools.partial(eqx.filter_jit, donate="none")
def predict(model: Graph, batch: dict, *, head: str, skip: frozenset[str]) -> jax.Array:
    return jnp.argmax(model.forward(batch, skip=skip)[f"{head}.logits"], axis=-1)  # [B]


def classification(em: EvalModel, task, examples: list[dict[str, Any]], batch_size: int) -> list[Score]:
    """Accuracy of the classifier head with `task.num_classes` classes.

    Only the pathways the head depends on run. Where they read token ids, the
    example's `prompt` is tokenized as training text is (bos ... eos).
    """
    head = find_head(em, task.num_classes)
    skip = em.skip_for(head)
    token_fields = sorted(em.token_fields(head))
    B = max(1, min(batch_size, len(examples)))
    right = 0
    for start in range(0, len(examples), B):
        chunk = examples[start : start + B]
        filled = chunk + [chunk[-1]] * (B - len(chunk))
        tokens = {f: np.stack([em.tokenizer.pad(em.tokenizer.encode(ex.get("prompt", "")), em.graph.batch[f].shape[1]) for ex in filled]) for f in token_fields}
        batch = em.batch(head, filled, tokens, task.type_name)
        pred = np.asarray(predict(em.model, batch, head=head, skip=skip))[: len(chunk)]
        right += int(sum(int(p) == int(ex["label"]) for p, ex in zip(pred, chunk)))
    n = len(examples)
    return [Score("classification", "acc", right / n if n else None, n, 0, {"head": head})]
