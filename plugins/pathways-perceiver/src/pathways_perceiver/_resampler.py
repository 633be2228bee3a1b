"""Flamingo's Perceiver Resampler: any number of encoder tokens in, a fixed number out.

Alayrac et al., "Flamingo" (2022), section 2.1 and appendix A.1.1. Learned latent
queries cross-attend to the encoder's tokens; keys and values are taken over
`concat(tokens, latents)`, so the latents also attend to each other and every
query always has something to attend to, even when every encoder token is padding.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Bool, Float, PRNGKeyArray

from pathways import Component, ComponentConfig, Port
from pathways.nn import MLP, Attention, LayerNorm, Linear, Stack, key_padding_mask


class ResamplerLayer(eqx.Module):
    """One layer: latents `x [B, L, D]` attend to `concat(context, x)`, then an MLP.

    Pre-LayerNorm residuals; the context and the latents each have their own norm:

        kv = concat(norm_context(context), norm_latents(x))   # [B, N+L, D]
        x  = x + attn(norm_latents(x), kv)
        x  = x + mlp(norm_mlp(x))
    """

    norm_context: LayerNorm
    norm_latents: LayerNorm
    attn: Attention
    norm_mlp: LayerNorm
    mlp: MLP

    def __init__(self, width: int, heads: int, mlp_dim: int, *, key: PRNGKeyArray):
        ka, km = jr.split(key)
        self.norm_context = LayerNorm(width)
        self.norm_latents = LayerNorm(width)
        self.attn = Attention(width, heads, heads, width // heads, key=ka)
        self.norm_mlp = LayerNorm(width)
        self.mlp = MLP(width, mlp_dim, key=km)

    def __call__(
        self,
        x: Float[Array, "B L D"],
        *,
        context: Float[Array, "B N D"],
        mask: Bool[Array, "B L N+L"],
    ) -> Float[Array, "B L D"]:
        q = self.norm_latents(x)
        kv = jnp.concatenate([self.norm_context(context), q], axis=1)  # [B, N+L, D]
        x = x + self.attn(q, context=kv, mask=mask)
        return x + self.mlp(self.norm_mlp(x))


class PerceiverResampler(Component):
    """Resample a variable-length token sequence to `num_latents` tokens (Flamingo).

    Inputs:  `tokens [B, N, context_dim] float`, any `N`; optional `mask [B, N] bool`
             (True for real tokens: padded tokens are never attended).
    Outputs: `tokens [B, num_latents, out_dim]` and `mask [B, num_latents] bool` (all True).

    `num_latents` learned queries `[num_latents, width]` go through `depth` layers of
    cross-attention (keys/values over `concat(tokens, latents)`) and MLP, each with a
    pre-LayerNorm residual, then a final LayerNorm. Tokens are first projected to
    `width` when `context_dim` differs from it, and the result is projected to
    `out_dim` when that differs from `width`. No parameter depends on `N`.
    """

    type_name = "perceiver_resampler"
    kind = "connector"
    example = {"width": 32, "context_dim": 16, "num_latents": 8, "depth": 1, "heads": 4}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        context_dim: pydantic.PositiveInt | None = None  # default: width
        num_latents: pydantic.PositiveInt = 64
        depth: pydantic.PositiveInt = 2
        heads: pydantic.PositiveInt = 8
        mlp_dim: pydantic.PositiveInt | None = None  # default: 4 * width
        out_dim: pydantic.PositiveInt | None = None  # default: width

        @pydantic.model_validator(mode="after")
        def _check(self):
            if self.width % self.heads:
                raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
            return self

    latents: Float[Array, "L D"]
    context_proj: Linear | None
    layers: Stack
    norm: LayerNorm
    out_proj: Linear | None

    @classmethod
    def ports(cls, cfg: Config):
        inputs = {
            "tokens": Port(("B", "N", cfg.context_dim or cfg.width), "float", "encoder tokens, any number"),
            "mask": Port(("B", "N"), "bool", "real (non-padding) encoder tokens", optional=True),
        }
        outputs = {
            "tokens": Port(("B", cfg.num_latents, cfg.out_dim or cfg.width), "float", "resampled tokens"),
            "mask": Port(("B", cfg.num_latents), "bool", "valid tokens (all True)"),
        }
        return inputs, outputs

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kl, kc, kb, ko = jr.split(key, 4)
        D = cfg.width
        context_dim, out_dim = cfg.context_dim or D, cfg.out_dim or D
        self.latents = jr.normal(kl, (cfg.num_latents, D))
        self.context_proj = Linear(context_dim, D, key=kc) if context_dim != D else None
        self.layers = Stack(lambda k: ResamplerLayer(D, cfg.heads, cfg.mlp_dim or 4 * D, key=k), cfg.depth, key=kb)
        self.norm = LayerNorm(D)
        self.out_proj = Linear(D, out_dim, key=ko) if out_dim != D else None

    def __call__(
        self,
        *,
        tokens: Float[Array, "B N Dc"],
        mask: Bool[Array, "B N"] | None = None,
    ) -> dict[str, Array]:
        B, N, _ = tokens.shape
        L, D = self.latents.shape
        context = tokens if self.context_proj is None else self.context_proj(tokens)  # [B, N, D]
        if mask is None:
            mask = jnp.ones((B, N), dtype=bool)
        valid = jnp.concatenate([mask, jnp.ones((B, L), dtype=bool)], axis=1)  # [B, N+L]: latents always valid
        x = jnp.broadcast_to(self.latents.astype(context.dtype)[None], (B, L, D))  # [B, L, D]
        x = self.norm(self.layers(x, context=context, mask=key_padding_mask(valid, L)))
        if self.out_proj is not None:
            x = self.out_proj(x)  # [B, L, out_dim]
        return {"tokens": x, "mask": jnp.ones((B, L), dtype=bool)}
