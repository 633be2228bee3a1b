"""The jitted train step: gradients of the trainable half only, optional accumulation and bf16 compute."""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from pathways.config import LossSpec
from pathways.train._loss import total_loss


def cast_floats(tree, dtype):
    """Floating-point arrays of `tree` cast to `dtype` (bf16 compute over f32 master weights)."""
    return jax.tree.map(lambda x: x.astype(dtype) if eqx.is_inexact_array(x) else x, tree)


def make_loss_fn(losses: list[LossSpec], compute_dtype=jnp.float32) -> Callable:
    """`loss_fn(trainable, frozen, batch) -> (loss, metrics)`; the model is `combine(trainable, frozen)`."""

    def loss_fn(trainable, frozen, batch):
        model = eqx.combine(trainable, frozen)
        if compute_dtype != jnp.float32:
            model, batch = cast_floats(model, compute_dtype), cast_floats(batch, compute_dtype)
        return total_loss(losses, model(batch), batch)

    return loss_fn


def _global_norm(tree):
    """L2 norm over all leaves (`optax.global_norm` is deprecated, and warnings are errors in the tests)."""
    return jnp.sqrt(sum(jnp.sum(jnp.square(x.astype(jnp.float32))) for x in jax.tree.leaves(tree)))


def make_train_step(loss_fn: Callable, optimizer: optax.GradientTransformation, *, grad_accum: int = 1) -> Callable:
    """`step(trainable, frozen, opt_state, batch) -> (trainable, opt_state, metrics)`, jitted.

    Only `trainable` is differentiated; like `loss_fn`, it comes first. With `grad_accum > 1` every batch leaf has
    a leading micro-batch axis and gradients are averaged over it with `lax.scan`.
    """
    grad_fn = eqx.filter_value_and_grad(loss_fn, has_aux=True)

    def step(trainable, frozen, opt_state, batch):
        if grad_accum == 1:
            (loss, metrics), grads = grad_fn(trainable, frozen, batch)
        else:

            def micro(acc, mb):
                (loss, metrics), grads = grad_fn(trainable, frozen, mb)
                return jax.tree.map(jnp.add, acc, grads), (loss, metrics)

            zeros = jax.tree.map(jnp.zeros_like, eqx.filter(trainable, eqx.is_inexact_array))
            grads, (loss, metrics) = jax.lax.scan(micro, zeros, batch)
            grads = jax.tree.map(lambda g: g / grad_accum, grads)
            loss, metrics = jnp.mean(loss), jax.tree.map(jnp.mean, metrics)
        params = eqx.filter(trainable, eqx.is_inexact_array)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        trainable = eqx.apply_updates(trainable, updates)
        # A finite loss and gradient can still give non-finite weights (an infinite learning rate).
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(eqx.filter(trainable, eqx.is_inexact_array))] or [jnp.bool_(True)]))
        return trainable, opt_state, {"loss": loss, "grad_norm": _global_norm(grads), "params_finite": finite, **metrics}

    # Donate the trainable parameters and optimizer state (they are replaced), never the
    # frozen half or the batch, which callers may reuse: both travel in the first argument.
    jitted = eqx.filter_jit(lambda fixed, trainable, opt_state: step(trainable, fixed[0], opt_state, fixed[1]), donate="all-except-first")

    def train_step(trainable, frozen, opt_state, batch):
        return jitted((frozen, batch), trainable, opt_state)

    return train_step
