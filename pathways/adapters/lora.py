"""LoRA: low-rank adapters on the dense layers of one pathway (built-in plugin).

Every `pathways.nn.Linear` inside the pathway becomes a `LoRALinear` computing
`x @ W + (alpha / rank) * (x @ A) @ B`, with `A` random and `B` zero, so the
adapted model starts out identical to the base. Only `A` and `B` train; `merge`
folds them into `W` and gives back plain `Linear` layers.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Float, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.adapters._base import Adapter, AdapterConfig
from pathways.nn import Linear


class LoRALinear(eqx.Module):
    """A frozen `Linear` plus a trainable low-rank update. Any leading (stacked-layer) axes are kept."""

    base: Linear
    lora_a: Float[Array, "... d_in r"]
    lora_b: Float[Array, "... r d_out"]
    scale: float = eqx.field(static=True)

    def __init__(self, base: Linear, rank: int, alpha: float, *, key: PRNGKeyArray):
        lead = base.weight.shape[:-2]  # stacked layers, if any
        self.base = base
        self.lora_a = jr.normal(key, (*lead, base.in_features, rank)) / math.sqrt(base.in_features)
        self.lora_b = jnp.zeros((*lead, rank, base.out_features))
        self.scale = alpha / rank

    def __call__(self, x: Float[Array, "... d_in"]) -> Float[Array, "... d_out"]:
        lead = x.shape[:-1]
        flat = x.reshape(-1, self.base.in_features)  # [N, d_in]
        delta = (flat @ self.lora_a.astype(x.dtype)) @ self.lora_b.astype(x.dtype)  # [N, d_out]
        return self.base(x) + (self.scale * delta).reshape(*lead, -1)


def _is_linear(x) -> bool:
    return isinstance(x, (Linear, LoRALinear))


class LoRAConfig(AdapterConfig):
    rank: pydantic.PositiveInt = pydantic.Field(8, description="inner dimension of A [d_in, r] and B [r, d_out]")
    alpha: pydantic.PositiveFloat = pydantic.Field(16.0, description="the update is scaled by alpha / rank")


class LoRA(Adapter):
    """The LoRA adapter: `apply` to a pathway, train `trainable(leaf)` leaves only, `merge` back."""

    type_name = "lora"
    Config = LoRAConfig

    @staticmethod
    def apply(module, cfg: LoRAConfig, *, key: PRNGKeyArray):
        """`module` with every `Linear` wrapped in a `LoRALinear`."""
        linears = [x for x in jax.tree.leaves(module, is_leaf=_is_linear) if isinstance(x, Linear)]
        keys = iter(jr.split(key, max(len(linears), 1)))
        return jax.tree.map(
            lambda x: LoRALinear(x, cfg.rank, cfg.alpha, key=next(keys)) if isinstance(x, Linear) else x,
            module,
            is_leaf=_is_linear,
        )

    @staticmethod
    def trainable(module):
        """Filter tree: True on adapter matrices only."""
        spec = jax.tree.map(lambda _: False, module)
        adapters = [x for x in jax.tree.leaves(module, is_leaf=_is_linear) if isinstance(x, LoRALinear)]
        if not adapters:
            return spec
        return eqx.tree_at(
            lambda m: [leaf for x in jax.tree.leaves(m, is_leaf=_is_linear) if isinstance(x, LoRALinear) for leaf in (x.lora_a, x.lora_b)],
            spec,
            [True] * (2 * len(adapters)),
        )

    @staticmethod
    def merge(module):
        """`module` with each `LoRALinear` folded into a plain `Linear` (`W + scale * A @ B`)."""

        def fold(x):
            if not isinstance(x, LoRALinear):
                return x
            delta = x.scale * jnp.matmul(x.lora_a, x.lora_b)
            return eqx.tree_at(lambda lin: lin.weight, x.base, x.base.weight + delta.astype(x.base.weight.dtype))

        return jax.tree.map(fold, module, is_leaf=_is_linear)


@hookimpl
def pathways_register_adapters():
    return [LoRA]
