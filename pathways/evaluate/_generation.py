"""Generation runner: greedy decoding in batches, then the task's metrics on the decoded text."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from pathways.evaluate._model import EvalModel
from pathways.evaluate._result import Score
from pathways.generate import Sampling, generate_cached


def references(example: dict[str, Any]) -> list[str]:
    target = example["target"]
    return [target] if isinstance(target, str) else list(target)


def generate(em: EvalModel, examples: list[dict[str, Any]], *, max_new_tokens: int, batch_size: int, task: str) -> tuple[list[str], list[int], list[int]]:
    """Greedy continuations of the examples' prompts: (texts, indices of the examples decoded, each one's token budget).

    A prompt of `n` tokens may grow to the model's context `T`: its budget is
    `min(max_new_tokens, T - n)`, and prompts of `T` tokens or more are skipped. All
    batches share one shape (one compilation): prompts are right-padded to the
    longest, and every row decodes the largest budget, then is cut to its own,
    which gives what decoding it alone would (rows never see each other).
    """
    tok, route, T = em.tokenizer, em.route, em.context
    prompts = [tok.encode(ex["prompt"], eos=False) for ex in examples]
    kept = [i for i, p in enumerate(prompts) if len(p) < T]
    if not kept:
        return [], [], []
    budgets = [min(max_new_tokens, T - len(prompts[i])) for i in kept]
    W, max_new = max(len(prompts[i]) for i in kept), max(budgets)
    B = max(1, min(batch_size, len(kept)))
    texts = []
    for start in range(0, len(kept), B):
        chunk = kept[start : start + B]
        filled = chunk + [chunk[-1]] * (B - len(chunk))
        tokens = np.stack([tok.pad(prompts[i], W) for i in filled])  # [B, W]
        lengths = jnp.asarray([len(prompts[i]) for i in filled], jnp.int32)
        batch = em.batch(route.head, [examples[i] for i in filled], {route.tokens: tokens}, task)
        out = generate_cached(
            em.model, batch, lengths, jax.random.key(0),
            route=route, max_new=max_new, sampling=Sampling(), eos_id=tok.eos_id, pad_id=tok.pad_id,
        )  # [B, max_new]
        for row, budget in zip(np.asarray(out), budgets[start : start + B]):
            ids = [int(i) for i in row[:budget]]
            ids = ids[: ids.index(tok.eos_id)] if tok.eos_id in ids else [i for i in ids if i != tok.pad_id]
            texts.append(tok.decode(ids).strip())
    return texts, kept, budgets


def generation(em: EvalModel, task, examples: list[dict[str, Any]], batch_size: int) -> list[Score]:
    """Each of the task's metrics on greedy continuations (stripped of surrounding whitespace).

    `details` says how many prompts left less than `max_new_tokens` of the context (`context_limited`).
    """
    texts, kept, budgets = generate(em, examples, max_new_tokens=task.max_new_tokens, batch_size=batch_size, task=task.type_name)
    refs = [references(examples[i]) for i in kept]
    skipped = len(examples) - len(kept)
    details = {"max_new_tokens": task.max_new_tokens, "context_limited": sum(b < task.max_new_tokens for b in budgets)}
    return [Score("generation", name, metric(texts, refs) if texts else None, len(texts), skipped, details) for name, metric in task.metrics.items()]
