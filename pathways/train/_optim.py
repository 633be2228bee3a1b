"""The optimizer and learning-rate schedule, from the `train` section of a config."""

from __future__ import annotations

import optax

from pathways.config import TrainSpec
from pathways.train._partition import decay_mask


def learning_rate(spec: TrainSpec) -> optax.Schedule:
    """Constant, or linear warm-up from 0 then cosine decay to `min_lr_ratio * lr` at `steps`."""
    lr, s = spec.optimizer.lr, spec.schedule
    if s.kind == "constant":
        if s.warmup_steps == 0:
            return optax.constant_schedule(lr)
        return optax.join_schedules(
            [optax.linear_schedule(0.0, lr, s.warmup_steps), optax.constant_schedule(lr)], [s.warmup_steps]
        )
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=lr,
        warmup_steps=s.warmup_steps,
        decay_steps=max(spec.steps, s.warmup_steps + 1),
        end_value=lr * s.min_lr_ratio,
    )


def make_optimizer(spec: TrainSpec) -> optax.GradientTransformation:
    """Gradient clipping (global norm), then the configured optimizer with the schedule."""
    o, lr = spec.optimizer, learning_rate(spec)
    if o.name == "adamw":
        opt = optax.adamw(lr, b1=o.b1, b2=o.b2, eps=o.eps, weight_decay=o.weight_decay, mask=decay_mask)
    elif o.name == "adam":
        opt = optax.adam(lr, b1=o.b1, b2=o.b2, eps=o.eps)
    else:
        opt = optax.sgd(lr)
    if spec.grad_clip is None:
        return opt
    return optax.chain(optax.clip_by_global_norm(spec.grad_clip), opt)
