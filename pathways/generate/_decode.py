"""Autoregressive decoding of a composed graph, with and without a key/value cache.

Prompts are right-padded; each row writes its next token at its own cache slot,
so batched prompts of different lengths decode together. Everything that does
not depend on the tokens (image and audio encoders) runs once, in the prefill,
together with the whole prompt (modality prefix included) in one pass.
"""

from __future__ import annotations

import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from pathways.generate._route import DecodeRoute
from pathways.generate._sampling import Sampling, sample
from pathways.graph import Graph

# The decoder is driven through the `cached_decoder` protocol (`pathways.components._roles`):
# `prefill(cache_len=..., **inputs)` then `decode(x=, cache=, valid=, index=, position=)`.


def _inputs(model: Graph, name: str, values: dict) -> dict:
    return {port: values[ref] for port, ref in dict(model.wiring)[name] if isinstance(ref, str) and ref in values}


def _input_ports(model: Graph, name: str) -> set[str]:
    return set(model.graph.nodes[name].inputs)


def _valid(route: DecodeRoute, values: dict) -> jax.Array:
    """Which prompt positions hold real tokens (the keys a new token may attend to)."""
    if route.fusion_type == "early_fusion":
        return values[f"{route.fusion}.token_mask"]
    return values[f"{route.text}.mask"]


@functools.partial(eqx.filter_jit, donate="none")
def generate_cached(model: Graph, batch: dict, lengths: jax.Array, key: jax.Array, *, route: DecodeRoute, max_new: int, sampling: Sampling, eos_id: int | tuple[int, ...], pad_id: int) -> jax.Array:
    """`[B, max_new]` new tokens (pad after each row's end-of-sequence), decoded with a KV cache."""
    values = model.forward(batch, skip=route.skip)
    decoder, head, text = model.pathways[route.decoder], model.pathways[route.head], model.pathways[route.text]
    dec_in = _inputs(model, route.decoder, values)
    head_in = {k: v for k, v in _inputs(model, route.head, values).items() if k != "x"}
    B, S = dec_in["x"].shape[:2]
    prefix = S - batch[route.tokens].shape[1]  # early-fusion modality prefix (0 otherwise)
    valid = _valid(route, values)
    if "token_mask" in _input_ports(model, route.decoder) and "token_mask" not in dec_in:
        dec_in["token_mask"] = valid  # the decoder learns which prompt keys are real (a sliding-window cache keeps only those)
    x, cache = decoder.prefill(cache_len=S + max_new, **dec_in)
    slots = jnp.pad(valid, [(0, 0), (0, max_new)])  # [B, S + max_new]: keys a new token may attend to
    rows = jnp.arange(B)
    logits = head(x=x[rows, prefix + lengths - 1][:, None], **head_in)["logits"][:, 0]  # [B, V]
    late = None
    if route.fusion_type == "late_fusion":
        f_in = _inputs(model, route.fusion, values)
        late = (model.pathways[route.fusion].context_keys_values(f_in["context"]), f_in.get("context_mask"))

    key, sub = jax.random.split(key)
    first = sample(logits, sub, sampling)

    def step(carry, _):
        cache, slots, tok, index, pos, done, key = carry
        out = jnp.where(done, pad_id, tok)
        done = done | jnp.isin(tok, jnp.asarray(eos_id))  # eos, or any of several stop ids
        x = text(tokens=tok[:, None])["embeddings"]  # [B, 1, D]
        if late is not None:
            x = model.pathways[route.fusion].decode(x=x, context_kv=late[0], context_mask=late[1])
        slots = slots.at[rows, index].set(True)
        x, cache = decoder.decode(x=x, cache=cache, valid=slots, index=index, position=pos)
        logits = head(x=x, **head_in)["logits"][:, 0]
        key, sub = jax.random.split(key)
        return (cache, slots, sample(logits, sub, sampling), index + 1, pos + 1, done, key), out

    # The first new token's position follows the last prompt token's (wherever the positions start).
    position = dec_in["positions"][rows, prefix + lengths - 1] + 1 if "positions" in dec_in else jnp.sum(valid, axis=1)
    start = (cache, slots, first, prefix + lengths, position.astype(jnp.int32), jnp.zeros(B, bool), key)
    _, tokens = jax.lax.scan(step, start, None, length=max_new)
    return tokens.T  # [B, max_new]


@functools.partial(eqx.filter_jit, donate="none")
def generate_uncached(model: Graph, batch: dict, lengths: jax.Array, *, route: DecodeRoute, max_new: int, eos_id: int | tuple[int, ...], pad_id: int) -> jax.Array:
    """Greedy decoding that recomputes the whole graph on the whole sequence at every step (the reference)."""
    prompt = batch[route.tokens]
    B, Tp = prompt.shape
    buffer = jnp.pad(prompt, [(0, 0), (0, max_new)], constant_values=pad_id)
    rows = jnp.arange(B)

    def step(i, carry):
        buffer, out, done = carry
        logits = model.forward({**batch, route.tokens: buffer})[f"{route.head}.logits"]  # [B, S, V]
        prefix = logits.shape[1] - buffer.shape[1]
        tok = jnp.argmax(logits[rows, prefix + lengths + i - 1], axis=-1).astype(buffer.dtype)
        out = out.at[:, i].set(jnp.where(done, pad_id, tok))
        done = done | jnp.isin(tok, jnp.asarray(eos_id))  # eos, or any of several stop ids
        return buffer.at[rows, lengths + i].set(tok), out, done

    init = (buffer, jnp.full((B, max_new), pad_id, buffer.dtype), jnp.zeros(B, bool))
    return jax.lax.fori_loop(0, max_new, step, init)[1]
