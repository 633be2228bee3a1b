"""`gpt_decoder`: a GPT-2-style decoder, with the cached-decoding protocol generation drives.

Unlike the built-in Gemma decoder: learned absolute positions instead of RoPE,
biased LayerNorm instead of RMSNorm, biased projections, a GELU MLP instead of
GeGLU, and full multi-head attention.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from pathways import Blocks, Component, ComponentConfig, Cost, Port
from pathways.nn import MLP, Attention, LayerNorm, causal_mask, count_params


class GPTBlock(eqx.Module):
    """`x + attn(ln(x))`, then `x + mlp(ln(x))`."""

    ln_attn: LayerNorm
    attn: Attention
    ln_mlp: LayerNorm
    mlp: MLP

    def __init__(self, width: int, heads: int, mlp_dim: int, *, key: PRNGKeyArray):
        ka, km = jr.split(key)
        self.ln_attn = LayerNorm(width, eps=1e-5)
        self.attn = Attention(width, heads, heads, width // heads, use_bias=True, key=ka)
        self.ln_mlp = LayerNorm(width, eps=1e-5)
        self.mlp = MLP(width, mlp_dim, key=km)

    def prefill(self, x: Float[Array, "B T D"], mask: Bool[Array, "B T T"]):
        """The block on a whole sequence, also returning its keys and values `[B, T, H, hd]`."""
        h = self.ln_attn(x)
        k, v = self.attn.keys_values(h, None)
        x = x + self.attn.attend(self.attn.queries(h, None), k, v, mask)
        return x + self.mlp(self.ln_mlp(x)), (k, v)

    def decode(self, x: Float[Array, "B 1 D"], cache: tuple[Array, Array], valid: Bool[Array, "B M"], index: Int[Array, " B"]):
        """One new token per row, written into the cache at slot `index`."""
        h = self.ln_attn(x)
        k, v = self.attn.keys_values(h, None)
        write = jax.vmap(lambda c, u, i: jax.lax.dynamic_update_slice_in_dim(c, u, i, axis=0))
        cache = (write(cache[0], k, index), write(cache[1], v, index))
        x = x + self.attn.attend(self.attn.queries(h, None), *cache, valid[:, None, :])
        return x + self.mlp(self.ln_mlp(x)), cache


class GPTDecoder(Component):
    """GPT-2-style transformer decoder.

    Inputs:  `x [B, T, D]`; optional `mask [B, T, T] bool` (default causal; an
             early-fusion prefix-LM mask goes here), `positions [B, T] int`
             (default `0..T-1`, each below `max_positions`), `token_mask [B, T] bool`.
    Outputs: `x [B, T, D]` after the final LayerNorm.
    """

    type_name = "gpt_decoder"
    kind = "decoder"
    roles = frozenset({"cached_decoder"})
    example = {"width": 32, "depth": 2, "heads": 4, "mlp_dim": 64, "max_positions": 64}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        depth: pydantic.PositiveInt
        heads: pydantic.PositiveInt
        mlp_dim: pydantic.PositiveInt
        max_positions: pydantic.PositiveInt = 1024

        @pydantic.model_validator(mode="after")
        def _check(self):
            if self.width % self.heads:
                raise ValueError(f"width {self.width} is not divisible by heads {self.heads}")
            return self

    position: Float[Array, "P D"]
    blocks: tuple[GPTBlock, ...]
    final_norm: LayerNorm

    @classmethod
    def ports(cls, cfg: Config):
        D = cfg.width
        inputs = {
            "x": Port(("B", "T", D), "float", "input embeddings"),
            "mask": Port(("B", "T", "T"), "bool", "attention mask (default causal)", optional=True),
            "positions": Port(("B", "T"), "int", "token positions (default 0..T-1)", optional=True),
            "token_mask": Port(("B", "T"), "bool", "real (non-padding) tokens", optional=True),
        }
        return inputs, {"x": Port(("B", "T", D), "float", "final hidden states")}

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kp, *kb = jr.split(key, cfg.depth + 1)
        self.position = 0.02 * jr.normal(kp, (cfg.max_positions, cfg.width))
        self.blocks = tuple(GPTBlock(cfg.width, cfg.heads, cfg.mlp_dim, key=k) for k in kb)
        self.final_norm = LayerNorm(cfg.width, eps=1e-5)

    def _embed(self, x, positions):
        B, T, _ = x.shape
        if positions is None:
            positions = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32), (B, T))
        return x + jnp.take(self.position, positions, axis=0).astype(x.dtype)

    def __call__(
        self,
        *,
        x: Float[Array, "B T D"],
        mask: Bool[Array, "B T T"] | None = None,
        positions: Int[Array, "B T"] | None = None,
        token_mask: Bool[Array, "B T"] | None = None,
    ) -> dict[str, Array]:
        return {"x": self.prefill(cache_len=x.shape[1], x=x, mask=mask, positions=positions, token_mask=token_mask)[0]}

    # ---- the cached_decoder protocol (pathways.components._roles) ----------------------

    def prefill(self, *, cache_len: int, x, mask=None, positions=None, token_mask=None):
        """Run the prompt; return `(x, cache)` with each block's keys/values over `cache_len` slots."""
        B, T, _ = x.shape
        mask = causal_mask(B, T) if mask is None else mask
        if token_mask is not None:
            mask = mask & token_mask[:, None, :]
        x = self._embed(x, positions)
        pad = lambda a: jnp.pad(a, [(0, 0), (0, cache_len - T), (0, 0), (0, 0)])  # noqa: E731
        kv = []
        for block in self.blocks:
            x, (k, v) = block.prefill(x, mask)
            kv.append((pad(k), pad(v)))
        return self.final_norm(x), {"kv": kv}

    def decode(self, *, x, cache, valid, index, position):
        """One token per row: `x [B, 1, D]` at slot `index [B]`, position `position [B]`, attending to `valid`."""
        x = self._embed(x, position[:, None])
        kv = []
        for block, layer in zip(self.blocks, cache["kv"]):
            x, layer = block.decode(x, layer, valid, index)
            kv.append(layer)
        return self.final_norm(x), {"kv": kv}

    @classmethod
    def cost(cls, cfg: Config, module: "GPTDecoder", shapes) -> Cost:
        s = shapes["x"][1]
        layer = count_params(module.blocks[0])
        flops = s * (2 * (cfg.depth * layer + count_params(module.final_norm)) + 2 * cfg.depth * s * cfg.width)
        blocks = (Blocks(cfg.depth, s, cfg.width, cfg.heads, layer),)
        return Cost(tokens=s, forward_flops=float(flops), embedding_params=module.position.size, blocks=blocks)
