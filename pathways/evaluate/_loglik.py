"""Log-likelihood runners: multiple choice (acc, acc_norm) and perplexity.

Both score token sequences with one jitted forward pass per batch: rows are
right-padded to one width (at most the model's context), and the LM head's logits
at position `t` give `log p(ids[t+1] | ids[:t+1])`. With an early-fusion modality
prefix the text occupies the last positions of the logits, as many as there are tokens.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from pathways.evaluate._model import EvalModel
from pathways.evaluate._result import Score
from pathways.graph import Graph


@functools.partial(eqx.filter_jit, donate="none")
def token_logprobs(model: Graph, batch: dict, *, head: str, tokens: str, skip: frozenset[str]) -> jax.Array:
    """`[B, T-1]`: entry `t` is the log-probability of `batch[tokens][:, t+1]` given the tokens up to `t`."""
    logits = model.forward(batch, skip=skip)[f"{head}.logits"]  # [B, S, V]
    ids = batch[tokens]  # [B, T]
    S, T = logits.shape[1], ids.shape[1]
    logp = jax.nn.log_softmax(logits[:, S - T : S - 1].astype(jnp.float32), axis=-1)  # [B, T-1, V]
    return jnp.take_along_axis(logp, ids[:, 1:, None], axis=-1)[..., 0]  # [B, T-1]


def sequence_logprobs(em: EvalModel, rows: list[tuple[list[int], dict[str, Any]]], batch_size: int, task: str) -> list[np.ndarray]:
    """For each `(ids, example)` row (ids at most the context `T` long), `[len(ids) - 1]` next-token log-probabilities.

    The example supplies the row's images or audio. Rows run `batch_size` at a time,
    right-padded to the longest row (not to `T`: padding at the end changes nothing
    before it under a causal mask); the last batch is filled with one-token rows, so
    every batch has one shape (one compilation per call).
    """
    route = em.route
    width = max((len(ids) for ids, _ in rows), default=1)
    skip = em.skip_for(route.head)
    B = max(1, min(batch_size, len(rows)))
    out: list[np.ndarray] = []
    for start in range(0, len(rows), B):
        chunk = rows[start : start + B]
        filled = chunk + [(chunk[-1][0][:1], chunk[-1][1])] * (B - len(chunk))
        tokens = np.stack([em.tokenizer.pad(ids, width) for ids, _ in filled])  # [B, width]
        batch = em.batch(route.head, [ex for _, ex in filled], {route.tokens: tokens}, task)
        logp = np.asarray(token_logprobs(em.model, batch, head=route.head, tokens=route.tokens, skip=skip))  # [B, width-1]
        out += [logp[i, : len(ids) - 1] for i, (ids, _) in enumerate(chunk)]
    return out


def continuation(tokenizer, prompt: str, answer: str, separator: str = " ") -> tuple[list[int], int]:
    """Token ids of the prompt joined with `answer`, and where the answer's tokens start.

    The whole text is tokenized at once (as in training), so a SentencePiece piece
    that spans the join stays one piece; the answer starts where the ids stop
    agreeing with the prompt's own ids (after the bos token at least).
    """
    context = tokenizer.encode(prompt, eos=False)
    whole = tokenizer.encode(prompt + separator + answer if prompt else answer, eos=False)
    k = 0
    while k < min(len(context), len(whole)) and context[k] == whole[k]:
        k += 1
    return whole, max(1, min(k, len(whole) - 1))


def multiple_choice(em: EvalModel, task, examples: list[dict[str, Any]], batch_size: int) -> list[Score]:
    """Pick the choice whose continuation is likeliest: `acc` by summed log-probability, `acc_norm` per token.

    A choice longer than the model's context cannot be produced within it: it counts
    as impossible (log-probability -inf). An example whose right answer does not fit
    is skipped.
    """
    T = em.context
    rows, spans, kept, too_long = [], [], [], 0
    for ex in examples:
        encoded = [continuation(em.tokenizer, ex["prompt"], c, task.separator) for c in ex["choices"]]
        if len(encoded[ex["answer"]][0]) > T:
            continue
        kept.append(ex)
        span = []
        for ids, start in encoded:
            if len(ids) > T:
                span.append(None)
                too_long += 1
            else:
                span.append((len(rows), start))
                rows.append((ids, ex))
        spans.append(span)
    logps = sequence_logprobs(em, rows, batch_size, task.type_name) if rows else []
    right = right_norm = 0
    for ex, span in zip(kept, spans):
        answer = [logps[c[0]][c[1] - 1 :] if c else None for c in span]  # log-probabilities of each choice's tokens
        total = np.array([a.sum() if a is not None else -np.inf for a in answer])
        per_token = np.array([a.mean() if a is not None else -np.inf for a in answer])
        right += int(np.argmax(total) == ex["answer"])
        right_norm += int(np.argmax(per_token) == ex["answer"])
    n, skipped = len(kept), len(examples) - len(kept)
    details = {"choices_out_of_context": too_long}
    return [
        Score("multiple_choice", "acc", right / n if n else None, n, skipped, details),
        Score("multiple_choice", "acc_norm", right_norm / n if n else None, n, skipped, details),
    ]


def windows(ids: list[int], T: int) -> list[list[int]]:
    """Cut `ids` into windows of at most `T` tokens, each starting with the previous one's last token.

    Every token after the first is predicted exactly once (by the window it ends up
    in, from that window's tokens only).
    """
    if len(ids) <= T:
        return [ids]
    return [ids[i : i + T] for i in range(0, len(ids) - 1, T - 1)]


def perplexity(em: EvalModel, task, examples: list[dict[str, Any]], batch_size: int) -> list[Score]:
    """Token-level perplexity `exp(mean NLL)` over every token after bos (eos included), and bits per UTF-8 byte."""
    T = em.context
    rows = []
    for ex in examples:
        rows += [(w, ex) for w in windows(em.tokenizer.encode(ex["text"]), T) if len(w) > 1]
    logps = sequence_logprobs(em, rows, batch_size, task.type_name) if rows else []
    nll = -float(sum(lp.sum() for lp in logps))
    count = sum(lp.size for lp in logps)
    n_bytes = sum(len(ex["text"].encode("utf-8")) for ex in examples)
    n = len(examples)
    details = {"tokens": count, "bytes": n_bytes, "windows": len(rows)}
    ppl = math.exp(nll / count) if count else None
    bpb = nll / math.log(2) / n_bytes if n_bytes else None
    return [Score("perplexity", "perplexity", ppl, n, 0, details), Score("perplexity", "bits_per_byte", bpb, n, 0, details)]
