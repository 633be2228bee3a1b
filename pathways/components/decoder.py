"""Decoder pathway: a Gemma-style transformer (built-in plugin)."""

from __future__ import annotations

from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import pydantic
from jaxtyping import Array, Bool, Float, Int, PRNGKeyArray

from pathways._markers import hookimpl
from pathways.components._base import Component, ComponentConfig
from pathways.components._cost import Blocks, Cost, cross_attention_flops
from pathways.components._ports import Port
from pathways.nn import Attention, GatedCrossAttention, GeGLU, RMSNorm, Stack, causal_mask, count_params, sliding_window


class DecoderBlock(eqx.Module):
    """Gemma block: `x + attn(rmsnorm(x))`, then `x + geglu(rmsnorm(x))`.

    With `post_norms` (Gemma 2/3) each branch's output is RMS-normalised again before
    it is added. A local (sliding-window) layer attends to the last `window` positions.
    """

    attn_norm: RMSNorm
    attn: Attention
    mlp_norm: RMSNorm
    mlp: GeGLU
    post_attn_norm: RMSNorm | None
    post_mlp_norm: RMSNorm | None

    def __init__(self, cfg: "GemmaDecoder.Config", *, key: PRNGKeyArray):
        ka, km = jr.split(key)
        self.attn_norm = RMSNorm(cfg.width, eps=cfg.norm_eps)
        scale = None if cfg.query_pre_attn_scalar is None else cfg.query_pre_attn_scalar**-0.5
        self.attn = Attention(
            cfg.width, cfg.heads, cfg.kv_heads, cfg.head_dim, rope_base=cfg.rope_base, rope_scale=cfg.rope_global_scaling,
            qk_norm=cfg.qk_norm, norm_eps=cfg.norm_eps, query_scale=scale, softcap=cfg.attn_logit_softcap, key=ka,
        )
        self.mlp_norm = RMSNorm(cfg.width, eps=cfg.norm_eps)
        self.mlp = GeGLU(cfg.width, cfg.mlp_dim, key=km)
        self.post_attn_norm = RMSNorm(cfg.width, eps=cfg.norm_eps) if cfg.post_norms else None
        self.post_mlp_norm = RMSNorm(cfg.width, eps=cfg.norm_eps) if cfg.post_norms else None

    def __call__(
        self, x: Float[Array, "B T D"], *, mask: Bool[Array, "B T T"], positions: Int[Array, "B T"], local_mask=None, layer=None
    ) -> Float[Array, "B T D"]:
        return self.prefill(x, mask=mask, positions=positions, local_mask=local_mask, layer=layer)[0]

    def _residuals(self, x, attn):
        if self.post_attn_norm is not None:
            attn = self.post_attn_norm(attn)
        x = x + attn
        out = self.mlp(self.mlp_norm(x))
        if self.post_mlp_norm is not None:
            out = self.post_mlp_norm(out)
        return x + out

    def prefill(self, x, *, mask, positions, local_mask=None, layer=None):
        """The block on a whole sequence, also returning its keys and values `[B, T, K, hd]` for a cache.

        `layer` (inside a scanned stack of mixed layers): `local` (bool), `rope_base` and
        `rope_scale` of this layer; `local_mask` is the mask local layers use.
        """
        rope = None if layer is None else (layer["rope_base"], layer["rope_scale"])
        if layer is not None:
            mask = jnp.where(layer["local"], local_mask, mask)
        h = self.attn_norm(x)
        k, v = self.attn.keys_values(h, positions, rope=rope)
        attn = self.attn.attend(self.attn.queries(h, positions, rope=rope), k, v, mask)
        return self._residuals(x, attn), (k, v)

    def decode(self, x, *, cache: tuple[Array, Array], valid, index, position, rope=None):
        """One new token per row: `x [B, 1, D]` written into the cache at slot `index [B]`, attending to the slots `valid [B, M]`."""
        h = self.attn_norm(x)
        k, v = self.attn.keys_values(h, position[:, None], rope=rope)
        cache_k, cache_v = write_slot(cache[0], k, index), write_slot(cache[1], v, index)
        attn = self.attn.attend(self.attn.queries(h, position[:, None], rope=rope), cache_k, cache_v, valid[:, None, :])
        return self._residuals(x, attn), (cache_k, cache_v)


def write_slot(cache: Array, new: Array, index: Int[Array, " B"]) -> Array:
    """`cache [B, M, ...]` with row `b`'s `new [B, 1, ...]` written at slot `index[b]`."""
    return jax.vmap(lambda c, u, i: jax.lax.dynamic_update_slice_in_dim(c, u, i, axis=0))(cache, new, index)


def ring_from_prompt(a: Array, positions: Int[Array, "B T"], real: Bool[Array, "B T"], size: int) -> Array:
    """The prompt entries `a [B, T, ...]` a sliding window still needs, in a ring of `size` slots.

    Slot `p % size` holds the real token at position `p`, for the `size` positions up to
    the row's last; decoding writes position `p` at slot `p % size` likewise. Keyed by
    position, not by index, so padding between real tokens takes no slot. Slots no
    real token fills stay zero (see `ring_positions`).
    """
    last = jnp.max(jnp.where(real, positions, -1), axis=1, keepdims=True)  # [B, 1]
    keep = real & (positions > last - size)
    slots = jnp.where(keep, jnp.mod(positions, size), size)  # slot `size` is out of range: dropped
    empty = jnp.zeros((a.shape[0], size) + a.shape[2:], a.dtype)
    return jax.vmap(lambda e, s, v: e.at[s].set(v, mode="drop"))(empty, slots, a)


def ring_positions(positions: Int[Array, "B T"], real: Bool[Array, "B T"], size: int) -> tuple[Array, Bool[Array, "B R"]]:
    """Each ring slot's position and whether a real prompt token fills it."""
    filled = ring_from_prompt(jnp.ones_like(real), positions, real, size)
    return ring_from_prompt(positions, positions, real, size), filled


class GemmaDecoder(Component):
    """Gemma transformer: RMSNorm (1 + w), RoPE, multi-/grouped-query attention, GeGLU.

    With `cross_attention_every: k`, a gated cross-attention block (Flamingo) runs
    before every k-th decoder block, attending to `context`.

    The Gemma 2 and Gemma 3 options, each off by default: `attention_pattern` (repeated
    over the layers: `[local, global]` for Gemma 2, five `local` then one `global` for
    Gemma 3) with `sliding_window` for the local layers; `attn_logit_softcap`;
    `query_pre_attn_scalar` (logits scaled by its inverse square root instead of
    `head_dim`'s); `qk_norm`; `post_norms` (an RMSNorm on each branch's output);
    `rope_local_base` (RoPE base of local layers) and `rope_global_scaling` (linear
    RoPE scaling of global layers).

    Inputs:  `x [B, T, D]` (embeddings); optional `mask [B, T, T] bool` (default causal,
             an early-fusion prefix-LM mask goes here); optional `positions [B, T] int`
             (default `0..T-1`); optional `token_mask [B, T] bool` (padding keys are
             never attended); optional `segment_ids [B, T] int` (packed rows: a
             token attends only within its segment); `context [B, N, Dc]` and optional
             `context_mask [B, N]` (required when cross-attention is on).
    Outputs: `x [B, T, D]`, after the final RMSNorm.
    """

    type_name = "gemma_decoder"
    kind = "decoder"
    roles = frozenset({"cached_decoder"})
    example = {"width": 32, "depth": 2, "heads": 4, "kv_heads": 1, "head_dim": 8, "mlp_dim": 64}

    class Config(ComponentConfig):
        width: pydantic.PositiveInt
        depth: pydantic.PositiveInt
        heads: pydantic.PositiveInt
        kv_heads: pydantic.PositiveInt = 1
        head_dim: pydantic.PositiveInt = 256
        mlp_dim: pydantic.PositiveInt
        rope_base: pydantic.PositiveFloat = 10_000.0
        norm_eps: pydantic.PositiveFloat = 1e-6
        cross_attention_every: pydantic.PositiveInt | None = None
        context_dim: pydantic.PositiveInt | None = None
        remat: bool = False
        scan_layers: bool = pydantic.Field(True, description="lax.scan over layers (fast compile); false unrolls them (faster steps on CPU)")
        attention_pattern: list[Literal["global", "local"]] | None = pydantic.Field(
            None, min_length=1, description="attention kind of layers 0, 1, ..., repeated over the depth (default: all global)"
        )
        sliding_window: pydantic.PositiveInt | None = pydantic.Field(None, description="positions a local layer sees: its own and the window-1 before it")
        attn_logit_softcap: pydantic.PositiveFloat | None = pydantic.Field(None, description="attention logits become c * tanh(logits / c) (Gemma 2: 50)")
        query_pre_attn_scalar: pydantic.PositiveFloat | None = pydantic.Field(None, description="attention logits scaled by 1/sqrt(this) (default head_dim)")
        qk_norm: bool = pydantic.Field(False, description="RMSNorm over each query and key head before RoPE (Gemma 3)")
        post_norms: bool = pydantic.Field(False, description="RMSNorm on the attention and MLP outputs before each residual add (Gemma 2/3)")
        rope_local_base: pydantic.PositiveFloat | None = pydantic.Field(None, description="RoPE base of local layers (default rope_base; Gemma 3: 10000)")
        rope_global_scaling: pydantic.PositiveFloat = pydantic.Field(1.0, description="linear RoPE scaling factor of global layers (Gemma 3 4B+: 8)")

        @pydantic.model_validator(mode="after")
        def _check(self):
            local = "local" in (self.attention_pattern or ())
            if local and self.sliding_window is None:
                raise ValueError("attention_pattern has local layers: set sliding_window (how many positions they see)")
            if self.sliding_window is not None and not local:
                raise ValueError("sliding_window is set but no layer is local: add 'local' to attention_pattern")
            if local and self.cross_attention_every:
                raise ValueError("attention_pattern with local layers does not combine with cross_attention_every")
            if self.heads % self.kv_heads:
                raise ValueError(f"heads {self.heads} is not a multiple of kv_heads {self.kv_heads}")
            if self.head_dim % 2:
                raise ValueError(f"head_dim {self.head_dim} must be even for RoPE")
            if self.cross_attention_every and self.depth % self.cross_attention_every:
                raise ValueError(f"depth {self.depth} is not a multiple of cross_attention_every {self.cross_attention_every}")
            return self

    blocks: Stack
    cross: Stack | None
    final_norm: RMSNorm
    every: int | None = eqx.field(static=True)
    layer_local: tuple[bool, ...] = eqx.field(static=True)
    layer_rope: tuple[tuple[float, float], ...] = eqx.field(static=True)  # (base, linear scale) of each layer
    window: int | None = eqx.field(static=True)

    @classmethod
    def ports(cls, cfg: Config):
        D = cfg.width
        inputs = {
            "x": Port(("B", "T", D), "float", "input embeddings"),
            "mask": Port(("B", "T", "T"), "bool", "attention mask (default causal)", optional=True),
            "positions": Port(("B", "T"), "int", "token positions (default 0..T-1)", optional=True),
            "token_mask": Port(("B", "T"), "bool", "real (non-padding) tokens", optional=True),
            "segment_ids": Port(("B", "T"), "int", "packed rows: attention stays inside each segment", optional=True),
        }
        if cfg.cross_attention_every:
            inputs["context"] = Port(("B", "N", cfg.context_dim or D), "float", "encoder tokens to cross-attend")
            inputs["context_mask"] = Port(("B", "N"), "bool", "valid encoder tokens", optional=True)
        return inputs, {"x": Port(("B", "T", D), "float", "final hidden states")}

    @classmethod
    def cost(cls, cfg, module, shapes):
        s, d_attn = shapes["x"][1], cfg.heads * cfg.head_dim
        own = count_params(module.blocks) + count_params(module.final_norm)
        flops = s * (2 * own + 2 * cfg.depth * s * d_attn)
        blocks = [Blocks(cfg.depth, s, cfg.width, cfg.heads, count_params(module.blocks) // cfg.depth)]
        if module.cross is not None:
            groups, attn = module.cross.num, module.cross.layers.attn
            kv = count_params(attn.k_proj) + count_params(attn.v_proj)
            flops += cross_attention_flops(count_params(module.cross), kv, groups, s, shapes["context"][1], d_attn)
            blocks.append(Blocks(groups, s, cfg.width, cfg.heads, count_params(module.cross) // groups))
        return Cost(tokens=s, forward_flops=float(flops), blocks=tuple(blocks))

    def __init__(self, cfg: Config, *, key: PRNGKeyArray):
        kb, kc = jr.split(key)
        self.blocks = Stack(lambda k: DecoderBlock(cfg, key=k), cfg.depth, remat=cfg.remat, scan=cfg.scan_layers, key=kb)
        self.every = cfg.cross_attention_every
        self.cross = None
        if self.every:
            make = lambda k: GatedCrossAttention(  # noqa: E731
                cfg.width, cfg.context_dim or cfg.width, cfg.heads, cfg.kv_heads, cfg.head_dim, cfg.mlp_dim, key=k
            )
            self.cross = Stack(make, cfg.depth // self.every, remat=cfg.remat, scan=cfg.scan_layers, key=kc)
        self.final_norm = RMSNorm(cfg.width, eps=cfg.norm_eps)
        pattern = cfg.attention_pattern or ["global"]
        self.layer_local = tuple(pattern[i % len(pattern)] == "local" for i in range(cfg.depth))
        local_rope, global_rope = (cfg.rope_local_base or cfg.rope_base, 1.0), (cfg.rope_base, cfg.rope_global_scaling)
        self.layer_rope = tuple(local_rope if is_local else global_rope for is_local in self.layer_local)
        self.window = cfg.sliding_window

    def _mixed(self) -> dict[str, Array] | None:
        """Per-layer inputs of a stack with local layers (None when every layer is global: one kind, one program)."""
        if not any(self.layer_local):
            return None
        return {
            "local": jnp.asarray(self.layer_local),
            "rope_base": jnp.asarray([b for b, _ in self.layer_rope], jnp.float32),
            "rope_scale": jnp.asarray([s for _, s in self.layer_rope], jnp.float32),
        }

    def __call__(
        self,
        *,
        x: Float[Array, "B T D"],
        mask: Bool[Array, "B T T"] | None = None,
        positions: Int[Array, "B T"] | None = None,
        token_mask: Bool[Array, "B T"] | None = None,
        context: Float[Array, "B N Dc"] | None = None,
        context_mask: Bool[Array, "B N"] | None = None,
        segment_ids: Int[Array, "B T"] | None = None,
    ) -> dict[str, Array]:
        B, T, _ = x.shape
        if mask is None:
            mask = causal_mask(B, T)
        if token_mask is not None:
            mask = mask & token_mask[:, None, :]
        if segment_ids is not None:
            mask = mask & (segment_ids[:, :, None] == segment_ids[:, None, :])
        if positions is None:
            positions = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32), (B, T))
        per_layer = self._mixed()
        if per_layer is not None:
            local_mask = sliding_window(mask, positions, positions, self.window)
            x = self.blocks(x, mask=mask, positions=positions, local_mask=local_mask, per_layer=per_layer)
        elif self.cross is None:
            x = self.blocks(x, mask=mask, positions=positions)
        else:
            x = self._with_cross_attention(x, mask, positions, context, context_mask)
        return {"x": self.final_norm(x)}

    # ---- key/value-cache decoding (used by pathways.generate) -------------------------

    def _layers(self) -> list[tuple[GatedCrossAttention | None, DecoderBlock]]:
        """Each block, led by its cross-attention block where one runs before it (unstacked)."""
        unstack = lambda stack, i: eqx.combine(  # noqa: E731
            jax.tree.map(lambda a: a[i], eqx.filter(stack.layers, eqx.is_array)), eqx.filter(stack.layers, eqx.is_array, inverse=True)
        )
        out = []
        for i in range(self.blocks.num):
            cross = unstack(self.cross, i // self.every) if self.cross is not None and i % self.every == 0 else None
            out.append((cross, unstack(self.blocks, i)))
        return out

    def prefill(self, *, cache_len: int, x, mask=None, positions=None, token_mask=None, context=None, context_mask=None, segment_ids=None):
        """Run the prompt (`x [B, T, D]`, inputs as in `__call__`) and return `(x, cache)`.

        The cache holds each global block's keys and values padded to `cache_len`
        slots and the cross-attention keys/values of `context`, computed once. A local
        (sliding-window) block keeps only a ring of `min(sliding_window, cache_len)`
        slots keyed by position: the window's keys and values, their positions and
        which are real (a key `token_mask` hides takes no slot).
        """
        B, T, _ = x.shape
        if mask is None:
            mask = causal_mask(B, T)
        if token_mask is not None:
            mask = mask & token_mask[:, None, :]
        if segment_ids is not None:
            mask = mask & (segment_ids[:, :, None] == segment_ids[:, None, :])
        if positions is None:
            positions = jnp.broadcast_to(jnp.arange(T, dtype=jnp.int32), (B, T))
        pad = lambda a: jnp.pad(a, [(0, 0), (0, cache_len - T)] + [(0, 0)] * (a.ndim - 2))  # noqa: E731
        kv, cross_kv = [], []
        cache: dict[str, Any] = {}
        local_mask = None
        if any(self.layer_local):
            local_mask = sliding_window(mask, positions, positions, self.window)
            real = jnp.diagonal(mask, axis1=1, axis2=2)  # [B, T]: every real position attends to itself
            ring = min(self.window, cache_len)
            slot_positions, filled = ring_positions(positions, real, ring)
            cache |= {"ring_positions": slot_positions, "ring_valid": filled}
        for i, (cross, block) in enumerate(self._layers()):
            if cross is not None:
                ckv = cross.context_keys_values(context)
                cross_kv.append(ckv)
                x = cross(x, context_kv=ckv, context_mask=context_mask)
            layer = self._layer(i)
            x, (k, v) = block.prefill(x, mask=mask, positions=positions, local_mask=local_mask, layer=layer)
            if self.layer_local[i]:
                kv.append(tuple(ring_from_prompt(a, positions, real, ring) for a in (k, v)))
            else:
                kv.append((pad(k), pad(v)))
        cache |= {"kv": kv, "cross_kv": cross_kv, "context_mask": context_mask}
        return self.final_norm(x), cache

    def _layer(self, i: int) -> dict[str, Any] | None:
        """Layer `i`'s kind and RoPE as `DecoderBlock` takes them (None when every layer is global)."""
        if not any(self.layer_local):
            return None
        return {"local": self.layer_local[i], "rope_base": self.layer_rope[i][0], "rope_scale": self.layer_rope[i][1]}

    def decode(self, *, x, cache, valid, index, position):
        """One token per row: `x [B, 1, D]` at cache slot `index [B]` and RoPE position `position [B]`,
        attending to the slots `valid [B, cache_len]` marks (this one included). Local
        layers write ring slot `position % ring` and attend to the real slots in the window."""
        kv, cross_i = [], 0
        updates: dict[str, Any] = {}
        if any(self.layer_local):
            ring = cache["ring_positions"].shape[1]
            slot = jnp.mod(position, ring)
            ring_positions = write_slot(cache["ring_positions"], position[:, None], slot)
            ring_valid = write_slot(cache["ring_valid"], jnp.ones_like(slot, dtype=bool)[:, None], slot)
            local_valid = ring_valid & (ring_positions > position[:, None] - self.window)
            updates = {"ring_positions": ring_positions, "ring_valid": ring_valid}
        for i, ((cross, block), layer_kv) in enumerate(zip(self._layers(), cache["kv"])):
            if cross is not None:
                x = cross(x, context_kv=cache["cross_kv"][cross_i], context_mask=cache["context_mask"])
                cross_i += 1
            rope = None if self._layer(i) is None else self.layer_rope[i]
            if self.layer_local[i]:
                x, layer_kv = block.decode(x, cache=layer_kv, valid=local_valid, index=slot, position=position, rope=rope)
            else:
                x, layer_kv = block.decode(x, cache=layer_kv, valid=valid, index=index, position=position, rope=rope)
            kv.append(layer_kv)
        return self.final_norm(x), {**cache, **updates, "kv": kv}

    def _with_cross_attention(self, x, mask, positions, context, context_mask):
        """Scan over groups of `every` blocks, each group led by one gated cross-attention block."""
        groups = self.cross.num
        block_params, block_static = eqx.partition(self.blocks.layers, eqx.is_array)
        block_params = jax.tree.map(lambda a: a.reshape(groups, self.every, *a.shape[1:]), block_params)
        cross_params, cross_static = eqx.partition(self.cross.layers, eqx.is_array)

        def group(x, params):
            cross_p, blocks_p = params
            x = eqx.combine(cross_p, cross_static)(x, context=context, context_mask=context_mask)
            for i in range(self.every):
                block = eqx.combine(jax.tree.map(lambda a: a[i], blocks_p), block_static)
                x = block(x, mask=mask, positions=positions)
            return x, None

        if self.blocks.remat:
            group = jax.checkpoint(group)
        x, _ = jax.lax.scan(group, x, (cross_params, block_params), unroll=not self.blocks.scan)
        return x


@hookimpl
def pathways_register_components():
    return [GemmaDecoder]
