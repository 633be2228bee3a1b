"""GemmaDecoder against a hand-written NumPy forward, masking, cross-attention gates, remat and jit."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from pathways.components import EarlyFusion, GemmaDecoder

# ----------------------------------------------------------------------------- helpers


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


@pytest.fixture
def rng():
    return np.random.default_rng(5)


def normal(rng, *shape) -> jax.Array:
    return jnp.asarray(rng.normal(size=shape), jnp.float32)


def fill_random(abstract, rng):
    """Concrete module from an abstract one: every float leaf random (fan-in scaled), gates included."""

    def fill(leaf):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            scale = 1.0 / math.sqrt(leaf.shape[-2]) if len(leaf.shape) >= 3 else 0.3
            return jnp.asarray(scale * rng.normal(size=leaf.shape), leaf.dtype)
        return leaf

    return jax.tree.map(fill, abstract, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))


def random_decoder(cfg, *, key, rng) -> GemmaDecoder:
    return fill_random(eqx.filter_eval_shape(GemmaDecoder, cfg, key=key), rng)


def with_arrays_of(dst_cfg, src: GemmaDecoder, *, key) -> GemmaDecoder:
    """A decoder built from `dst_cfg` (e.g. remat on) holding `src`'s arrays."""
    abstract = eqx.filter_eval_shape(GemmaDecoder, dst_cfg, key=key)
    if src.cross is None:
        return eqx.tree_at(lambda d: (d.blocks.layers, d.final_norm), abstract, (src.blocks.layers, src.final_norm))
    return eqx.tree_at(
        lambda d: (d.blocks.layers, d.cross.layers, d.final_norm), abstract, (src.blocks.layers, src.cross.layers, src.final_norm)
    )


@eqx.filter_jit
def apply(module, inputs):
    return module(**inputs)


# NumPy (float64) building blocks, written from the Gemma / Flamingo definitions.


def np_rms(x, w, eps):
    return x / np.sqrt(np.mean(x**2, axis=-1, keepdims=True) + eps) * (1.0 + w)


def np_rope(x, positions, base):
    """x [T, H, hd]; rotate pairs (x[i], x[i + hd/2]) by positions[t] / base**(2i/hd)."""
    T, _, hd = x.shape
    half = hd // 2
    inv = base ** (-2.0 * np.arange(half) / hd)  # [half]
    ang = positions[:, None].astype(np.float64) * inv[None, :]  # [T, half]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., :half], x[..., half:]
    return np.concatenate([a * c - b * s, b * c + a * s], axis=-1)


def np_attention(attn, x, ctx, mask, positions=None, rope_base=None):
    """One example. x [T, D], ctx [S, Dc], mask [T, S]. Query head h uses kv head h // (H / K)."""
    T, S = x.shape[0], ctx.shape[0]
    H, K, hd = attn.num_heads, attn.num_kv_heads, attn.head_dim
    q = (x @ f64(attn.q_proj.weight)).reshape(T, H, hd)
    k = (ctx @ f64(attn.k_proj.weight)).reshape(S, K, hd)
    v = (ctx @ f64(attn.v_proj.weight)).reshape(S, K, hd)
    if rope_base is not None:
        q, k = np_rope(q, positions, rope_base), np_rope(k, positions, rope_base)
    heads = []
    for h in range(H):
        g = h // (H // K)
        logits = np.where(mask, q[:, h] @ k[:, g].T / math.sqrt(hd), -np.inf)
        p = np.exp(logits - logits.max(axis=-1, keepdims=True))
        heads.append((p / p.sum(axis=-1, keepdims=True)) @ v[:, g])
    return np.concatenate(heads, axis=-1) @ f64(attn.o_proj.weight)


def np_geglu(mlp, x):
    g = x @ f64(mlp.gate_proj.weight)
    gelu = 0.5 * g * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (g + 0.044715 * g**3)))
    return (gelu * (x @ f64(mlp.up_proj.weight))) @ f64(mlp.down_proj.weight)


def np_decoder_block(layer, x, mask, positions, cfg):
    h = np_rms(x, f64(layer.attn_norm.weight), cfg.norm_eps)
    x = x + np_attention(layer.attn, h, h, mask, positions, cfg.rope_base)
    return x + np_geglu(layer.mlp, np_rms(x, f64(layer.mlp_norm.weight), cfg.norm_eps))


def np_cross_block(layer, x, ctx, ctx_mask):
    T = x.shape[0]
    mask = np.broadcast_to(ctx_mask[None, :], (T, ctx.shape[0]))
    x = x + math.tanh(float(layer.attn_gate)) * np_attention(layer.attn, np_rms(x, f64(layer.attn_norm.weight), 1e-6), ctx, mask)
    return x + math.tanh(float(layer.mlp_gate)) * np_geglu(layer.mlp, np_rms(x, f64(layer.mlp_norm.weight), 1e-6))


def np_decoder(dec: GemmaDecoder, cfg, x, mask, positions, context=None, context_mask=None):
    """Layer-by-layer forward, unstacking the Stack leaves; a cross block leads every group of `every`."""
    out = np.zeros(x.shape)
    for b in range(x.shape[0]):
        xb = f64(x[b])
        for i in range(cfg.depth):
            if cfg.cross_attention_every and i % cfg.cross_attention_every == 0:
                cross = jax.tree.map(lambda a: a[i // cfg.cross_attention_every], dec.cross.layers)
                xb = np_cross_block(cross, xb, f64(context[b]), context_mask[b])
            layer = jax.tree.map(lambda a: a[i], dec.blocks.layers)
            xb = np_decoder_block(layer, xb, mask[b], positions[b], cfg)
        out[b] = np_rms(xb, f64(dec.final_norm.weight), cfg.norm_eps)
    return out


def causal(B, T):
    return np.broadcast_to(np.tril(np.ones((T, T), bool)), (B, T, T))


GQA = dict(width=8, depth=2, heads=4, kv_heads=2, head_dim=4, mlp_dim=16)


# ----------------------------------------------------------------------------- reference parity


@pytest.mark.parametrize("kv_heads", [1, 2])
def test_matches_numpy_forward_with_default_causal_mask(key, rng, kv_heads):
    cfg = GemmaDecoder.Config(**{**GQA, "kv_heads": kv_heads})
    dec = random_decoder(cfg, key=key, rng=rng)
    x = normal(rng, 2, 5, 8)
    out = apply(dec, {"x": x})["x"]
    assert out.shape == (2, 5, 8)
    positions = np.broadcast_to(np.arange(5), (2, 5))
    np.testing.assert_allclose(f64(out), np_decoder(dec, cfg, x, causal(2, 5), positions), atol=1e-5, rtol=1e-5)


def test_matches_numpy_forward_with_prefix_lm_inputs(key, rng):
    cfg = GemmaDecoder.Config(**GQA, rope_base=500.0, norm_eps=1e-5)
    dec = random_decoder(cfg, key=key, rng=rng)
    fusion = EarlyFusion(EarlyFusion.Config(width=8), key=key)
    fused = fusion(
        prefix=(normal(rng, 2, 3, 8),),
        prefix_mask=(jnp.array([[True, True, False], [True, True, True]]),),
        text=normal(rng, 2, 3, 8),
        text_mask=jnp.array([[True, True, True], [True, True, False]]),
    )
    inputs = {k: fused[k] for k in ("x", "mask", "positions", "token_mask")}
    out = apply(dec, inputs)["x"]
    mask = np.asarray(fused["mask"]) & np.asarray(fused["token_mask"])[:, None, :]
    expected = np_decoder(dec, cfg, fused["x"], mask, np.asarray(fused["positions"]))
    np.testing.assert_allclose(f64(out), expected, atol=1e-5, rtol=1e-5)


def test_matches_numpy_forward_with_open_cross_attention_gates(key, rng):
    cfg = GemmaDecoder.Config(**{**GQA, "depth": 4}, cross_attention_every=2, context_dim=6)
    dec = random_decoder(cfg, key=key, rng=rng)
    dec = eqx.tree_at(lambda d: (d.cross.layers.attn_gate, d.cross.layers.mlp_gate), dec, (jnp.array([0.8, -0.5]), jnp.array([0.4, 0.9])))
    assert dec.cross.layers.attn.k_proj.weight.shape == (2, 6, 8)
    x = normal(rng, 2, 4, 8)
    ctx = normal(rng, 2, 3, 6)
    cmask = np.array([[True, False, True], [True, True, True]])
    out = apply(dec, {"x": x, "context": ctx, "context_mask": jnp.asarray(cmask)})["x"]
    positions = np.broadcast_to(np.arange(4), (2, 4))
    expected = np_decoder(dec, cfg, x, causal(2, 4), positions, ctx, cmask)
    np.testing.assert_allclose(f64(out), expected, atol=1e-5, rtol=1e-5)
    # masked context tokens are never read; valid ones are
    out_masked = apply(dec, {"x": x, "context": ctx.at[0, 1].set(50.0), "context_mask": jnp.asarray(cmask)})["x"]
    np.testing.assert_allclose(f64(out_masked), f64(out), atol=1e-6)
    out_valid = apply(dec, {"x": x, "context": ctx.at[:, 0].add(1.0), "context_mask": jnp.asarray(cmask)})["x"]
    assert np.abs(f64(out_valid) - f64(out)).max(axis=(1, 2)).min() > 1e-4


# ----------------------------------------------------------------------------- masking and positions


def test_causal_future_tokens_do_not_change_earlier_outputs(key, rng):
    dec = random_decoder(GemmaDecoder.Config(**GQA), key=key, rng=rng)
    x = normal(rng, 2, 6, 8)
    base = f64(apply(dec, {"x": x})["x"])
    changed = f64(apply(dec, {"x": x.at[:, 3].add(2.0)})["x"])
    np.testing.assert_allclose(changed[:, :3], base[:, :3], atol=1e-6)
    assert np.abs(changed[:, 3:] - base[:, 3:]).max(axis=-1).min() > 1e-4


def test_prefix_lm_mask_lets_prefix_tokens_see_later_prefix_tokens(key, rng):
    dec = random_decoder(GemmaDecoder.Config(**GQA), key=key, rng=rng)
    fusion = EarlyFusion(EarlyFusion.Config(width=8), key=key)
    prefix, text = normal(rng, 1, 3, 8), normal(rng, 1, 3, 8)

    def run(prefix, text, use_prefix_mask=True):
        fused = fusion(prefix=(prefix,), text=text)
        inputs = {"x": fused["x"], "positions": fused["positions"]}
        if use_prefix_mask:
            inputs["mask"] = fused["mask"]
        return f64(apply(dec, inputs)["x"])[0]

    base = run(prefix, text)
    later_prefix = run(prefix.at[0, 2].add(2.0), text)
    assert np.abs(later_prefix[0] - base[0]).max() > 1e-4  # token 0 sees prefix token 2
    later_text = run(prefix, text.at[0, 1].add(2.0))
    np.testing.assert_allclose(later_text[:4], base[:4], atol=1e-6)  # text stays causal, prefix never sees text
    assert np.abs(later_text[4:] - base[4:]).max() > 1e-4
    # with the default causal mask the same change is invisible to token 0
    causal_base = run(prefix, text, use_prefix_mask=False)
    causal_later = run(prefix.at[0, 2].add(2.0), text, use_prefix_mask=False)
    np.testing.assert_allclose(causal_later[:2], causal_base[:2], atol=1e-6)


def test_token_mask_hides_padding_keys(key, rng):
    dec = random_decoder(GemmaDecoder.Config(**GQA), key=key, rng=rng)
    x = normal(rng, 2, 5, 8)
    token_mask = jnp.array([[True, True, False, True, True], [True, True, True, True, True]])
    base = f64(apply(dec, {"x": x, "token_mask": token_mask})["x"])
    changed = f64(apply(dec, {"x": x.at[0, 2].set(30.0), "token_mask": token_mask})["x"])
    keep = [0, 1, 3, 4]
    np.testing.assert_allclose(changed[0, keep], base[0, keep], atol=1e-6)
    np.testing.assert_allclose(changed[1], base[1], atol=1e-6)
    # without the token mask, later tokens do read position 2
    no_mask = [f64(apply(dec, {"x": v})["x"]) for v in (x, x.at[0, 2].set(30.0))]
    assert np.abs(no_mask[1][0, 3:] - no_mask[0][0, 3:]).max() > 1e-4


def test_shifting_all_positions_leaves_output_unchanged(key, rng):
    """RoPE makes attention depend only on position differences."""
    dec = random_decoder(GemmaDecoder.Config(**GQA), key=key, rng=rng)
    x = normal(rng, 2, 5, 8)
    base = apply(dec, {"x": x})["x"]
    shifted = apply(dec, {"x": x, "positions": jnp.broadcast_to(jnp.arange(5, dtype=jnp.int32) + 17, (2, 5))})["x"]
    np.testing.assert_allclose(f64(shifted), f64(base), atol=1e-4)
    spread = apply(dec, {"x": x, "positions": jnp.broadcast_to(jnp.arange(5, dtype=jnp.int32) * 3, (2, 5))})["x"]
    assert np.abs(f64(spread) - f64(base)).max() > 1e-4  # ...but positions do matter


# ----------------------------------------------------------------------------- cross-attention at init

SAME = dict(width=8, depth=2, heads=2, kv_heads=2, head_dim=4, mlp_dim=8)


def test_cross_attention_at_init_equals_plain_decoder(key, rng):
    cross_cfg = GemmaDecoder.Config(**SAME, cross_attention_every=2, context_dim=8)
    plain_cfg = GemmaDecoder.Config(**SAME)
    crossed = GemmaDecoder(cross_cfg, key=key)
    plain = GemmaDecoder(plain_cfg, key=jax.random.key(1))
    assert crossed.cross is not None and crossed.cross.num == 1 and plain.cross is None
    np.testing.assert_array_equal(np.asarray(crossed.cross.layers.attn_gate), [0.0])
    np.testing.assert_array_equal(np.asarray(crossed.cross.layers.mlp_gate), [0.0])
    plain = eqx.tree_at(lambda d: d.blocks, plain, crossed.blocks)
    x = normal(rng, 2, 5, 8)
    ctx = normal(rng, 2, 3, 8)
    out_cross = f64(apply(crossed, {"x": x, "context": ctx})["x"])
    out_plain = f64(apply(plain, {"x": x})["x"])
    np.testing.assert_allclose(out_cross, out_plain, atol=1e-5)
    # and the context is not ignored once a gate opens
    opened = eqx.tree_at(lambda d: d.cross.layers.attn_gate, crossed, jnp.array([0.5]))
    assert np.abs(f64(apply(opened, {"x": x, "context": ctx})["x"]) - out_plain).max() > 1e-4


def test_final_norm_starts_as_plain_rms(key, rng):
    dec = GemmaDecoder(GemmaDecoder.Config(**SAME), key=key)
    np.testing.assert_array_equal(np.asarray(dec.final_norm.weight), np.zeros(8))
    np.testing.assert_array_equal(np.asarray(dec.blocks.layers.attn_norm.weight), np.zeros((2, 8)))
    out = f64(apply(dec, {"x": normal(rng, 1, 3, 8)})["x"])
    np.testing.assert_allclose(np.sqrt(np.mean(out**2, axis=-1)), 1.0, atol=1e-4)


# ----------------------------------------------------------------------------- remat and jit


@eqx.filter_jit
def _value_and_grad(dec, inputs, target):
    def loss(d):
        return jnp.sum(d(**inputs)["x"] * target)

    return eqx.filter_value_and_grad(loss)(dec)


@pytest.mark.parametrize("cross", [False, True])
def test_remat_gives_same_output_and_gradient(key, rng, cross):
    extra = {"cross_attention_every": 2, "context_dim": 6} if cross else {}
    cfg = GemmaDecoder.Config(**GQA, **extra)
    dec = random_decoder(cfg, key=key, rng=rng)
    remat = with_arrays_of(GemmaDecoder.Config(**GQA, **extra, remat=True), dec, key=key)
    assert remat.blocks.remat and not dec.blocks.remat
    inputs = {"x": normal(rng, 2, 4, 8)}
    if cross:
        inputs["context"] = normal(rng, 2, 3, 6)
    target = normal(rng, 2, 4, 8)
    np.testing.assert_allclose(f64(apply(remat, inputs)["x"]), f64(apply(dec, inputs)["x"]), atol=1e-6)
    v1, g1 = _value_and_grad(dec, inputs, target)
    v2, g2 = _value_and_grad(remat, inputs, target)
    np.testing.assert_allclose(float(v1), float(v2), rtol=1e-5, atol=1e-5)
    leaves1, leaves2 = jax.tree.leaves(g1), jax.tree.leaves(g2)
    assert len(leaves1) == len(leaves2) > 0
    for a, b in zip(leaves1, leaves2):
        np.testing.assert_allclose(f64(a), f64(b), rtol=1e-4, atol=1e-5)
    assert float(jnp.abs(g1.blocks.layers.attn.q_proj.weight).max()) > 0


@pytest.mark.parametrize("cross", [False, True])
def test_filter_jit_equals_eager(key, rng, cross):
    extra = {"cross_attention_every": 2, "context_dim": 6} if cross else {}
    dec = random_decoder(GemmaDecoder.Config(**GQA, **extra), key=key, rng=rng)
    inputs = {"x": normal(rng, 2, 4, 8), "token_mask": jnp.array([[True] * 4, [True, True, True, False]])}
    if cross:
        inputs["context"] = normal(rng, 2, 3, 6)
    np.testing.assert_allclose(f64(apply(dec, inputs)["x"]), f64(dec(**inputs)["x"]), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- config


@pytest.mark.parametrize(
    "overrides",
    [
        {"heads": 4, "kv_heads": 3},
        {"head_dim": 5},
        {"depth": 3, "cross_attention_every": 2},
    ],
)
def test_config_rejects_inconsistent_values(overrides):
    with pytest.raises(pydantic.ValidationError):
        GemmaDecoder.Config(**{**GQA, **overrides})


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"attention_pattern": ["local", "global"]}, "attention_pattern has local layers: set sliding_window"),
        ({"sliding_window": 8}, "sliding_window is set but no layer is local"),
        ({"attention_pattern": ["local"], "sliding_window": 4, "cross_attention_every": 1}, "does not combine with cross_attention_every"),
        ({"attention_pattern": ["sliding"]}, "Input should be 'global' or 'local'"),
        ({"attention_pattern": []}, "at least 1 item"),
    ],
)
def test_gemma_2_and_3_options_are_checked_at_validate(overrides, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        GemmaDecoder.Config(**{**GQA, **overrides})


def test_default_options_build_the_same_parameters_and_program(key):
    """Every Gemma 2/3 option off: no new parameter, and the forward pass is the same jaxpr as before them."""
    plain = GemmaDecoder(GemmaDecoder.Config(**GQA), key=key)
    explicit = GemmaDecoder(GemmaDecoder.Config(**GQA, attention_pattern=["global"], qk_norm=False, post_norms=False, rope_global_scaling=1.0), key=key)
    x = jnp.ones((2, 5, GQA["width"]))
    assert str(jax.make_jaxpr(lambda m: m(x=x))(plain)) == str(jax.make_jaxpr(lambda m: m(x=x))(explicit))
    leaves = jax.tree_util.tree_flatten_with_path(eqx.filter(plain, eqx.is_array))[0]
    assert not any("norm" in jax.tree_util.keystr(p) and ("q_norm" in jax.tree_util.keystr(p) or "post" in jax.tree_util.keystr(p)) for p, _ in leaves)


def test_ports_follow_cross_attention(key):
    plain_in, out = GemmaDecoder.ports(GemmaDecoder.Config(**GQA))
    assert "context" not in plain_in and out["x"].shape == ("B", "T", 8)
    cross_in, _ = GemmaDecoder.ports(GemmaDecoder.Config(**GQA, cross_attention_every=1, context_dim=6))
    assert cross_in["context"].shape == ("B", "N", 6)
    assert cross_in["context_mask"].optional


def test_unrolled_layers_compute_the_same_as_scanned(key):
    cfg = dict(width=32, depth=3, heads=4, kv_heads=2, head_dim=8, mlp_dim=64)
    scanned = GemmaDecoder(GemmaDecoder.Config(**cfg), key=key)
    unrolled = GemmaDecoder(GemmaDecoder.Config(**cfg, scan_layers=False), key=key)
    x = jax.random.normal(jax.random.key(5), (2, 7, 32))
    np.testing.assert_allclose(np.asarray(unrolled(x=x)["x"]), np.asarray(scanned(x=x)["x"]), rtol=1e-5, atol=1e-5)
