"""The layers in `pathways.nn` against independent NumPy (float64) computations."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

from pathways.nn import (
    MLP,
    Attention,
    Conv1d,
    GeGLU,
    LayerNorm,
    Linear,
    RMSNorm,
    Stack,
    apply_rope,
    causal_mask,
    count_params,
    dot_product_attention,
    key_padding_mask,
    sincos_2d_table,
    sinusoidal_table,
)


# ----------------------------------------------------------------------------- helpers


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def perturb(module, key, scale=0.3):
    """Add noise to every floating leaf so zero-initialised biases and norm weights matter."""
    params, static = eqx.partition(module, eqx.is_inexact_array)
    leaves, treedef = jax.tree.flatten(params)
    keys = jr.split(key, len(leaves))
    leaves = [leaf + scale * jr.normal(k, leaf.shape, leaf.dtype) for leaf, k in zip(leaves, keys)]
    return eqx.combine(jax.tree.unflatten(treedef, leaves), static)


def np_linear(layer: Linear, x: np.ndarray) -> np.ndarray:
    y = x @ f64(layer.weight)
    if layer.bias is not None:
        y = y + f64(layer.bias)
    return y


def np_rope(x: np.ndarray, positions: np.ndarray, base: float) -> np.ndarray:
    """Gemma RoPE, one (position, pair) at a time: pairs are `(x[i], x[i + hd/2])`. x: [T, H, hd]."""
    T, H, hd = x.shape
    half = hd // 2
    out = np.empty_like(x)
    for t in range(T):
        for i in range(half):
            theta = positions[t] / base ** (2.0 * i / hd)
            c, s = math.cos(theta), math.sin(theta)
            a, b = x[t, :, i], x[t, :, i + half]
            out[t, :, i] = a * c - b * s
            out[t, :, i + half] = b * c + a * s
    return out


def np_softmax_masked(logits: np.ndarray, mask: np.ndarray) -> np.ndarray:
    logits = np.where(mask, logits, -np.inf)
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def np_attention(attn: Attention, x, ctx, mask, positions=None, ctx_positions=None):
    """Per batch element, per query head loop. x [B, T, D], ctx [B, S, Dc], mask [B, T, S] or None."""
    B, T, _ = x.shape
    S = ctx.shape[1]
    H, K, hd = attn.num_heads, attn.num_kv_heads, attn.head_dim
    G = H // K
    out = np.zeros((B, T, attn.o_proj.out_features))
    for b in range(B):
        q = np_linear(attn.q_proj, x[b]).reshape(T, H, hd)
        k = np_linear(attn.k_proj, ctx[b]).reshape(S, K, hd)
        v = np_linear(attn.v_proj, ctx[b]).reshape(S, K, hd)
        if attn.rope_base is not None:
            q = np_rope(q, positions[b], attn.rope_base)
            k = np_rope(k, ctx_positions[b], attn.rope_base)
        heads = []
        for h in range(H):
            kv = h // G  # query head h reads the kv head of its group
            logits = q[:, h] @ k[:, kv].T / math.sqrt(hd)
            m = np.ones((T, S), bool) if mask is None else mask[b]
            heads.append(np_softmax_masked(logits, m) @ v[:, kv])
        out[b] = np_linear(attn.o_proj, np.concatenate(heads, axis=-1))
    return out


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def gelu_erf(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


# ----------------------------------------------------------------------------- Linear


@pytest.mark.parametrize("use_bias", [True, False])
def test_linear_on_3d_input_equals_matmul_plus_bias(key, use_bias):
    kl, kp, kx = jr.split(key, 3)
    layer = perturb(Linear(5, 7, use_bias=use_bias, key=kl), kp)
    assert layer.weight.shape == (5, 7)
    assert (layer.bias is not None) == use_bias
    x = jr.normal(kx, (2, 3, 5))
    y = layer(x)
    assert y.shape == (2, 3, 7)
    expected = f64(x) @ f64(layer.weight) + (f64(layer.bias) if use_bias else 0.0)
    np.testing.assert_allclose(f64(y), expected, rtol=1e-5, atol=1e-5)


def test_linear_bias_starts_at_zero_and_weight_scale(key):
    layer = Linear(256, 64, use_bias=True, key=key)
    np.testing.assert_array_equal(np.asarray(layer.bias), np.zeros(64))
    # truncated normal(-2, 2) times 1/sqrt(fan_in): std about 0.88 / 16, never beyond 2 / 16
    w = np.asarray(layer.weight)
    assert np.abs(w).max() <= 2.0 / 16 + 1e-6
    assert 0.7 / 16 < w.std() < 1.0 / 16


def test_linear_keeps_input_dtype(key):
    layer = Linear(4, 3, key=key)
    assert layer(jnp.ones((2, 4), jnp.bfloat16)).dtype == jnp.bfloat16


def test_count_params_counts_float_leaves_only(key):
    layer = Linear(5, 7, use_bias=True, key=key)
    assert count_params(layer) == 5 * 7 + 7
    assert count_params({"a": jnp.zeros((3, 4)), "ids": jnp.zeros((10,), jnp.int32)}) == 12


# ----------------------------------------------------------------------------- norms


def test_rmsnorm_scale_is_one_plus_weight_with_weight_zero_at_init(key):
    kx, kw = jr.split(key)
    norm = RMSNorm(6, eps=1e-6)
    np.testing.assert_array_equal(np.asarray(norm.weight), np.zeros(6))
    x = 3.0 * jr.normal(kx, (2, 3, 6))
    xn = f64(x)
    unit = xn / np.sqrt(np.mean(xn**2, axis=-1, keepdims=True) + 1e-6)
    # at init the output has unit RMS (scale 1 + 0)
    np.testing.assert_allclose(f64(norm(x)), unit, rtol=1e-5, atol=1e-5)
    w = jr.normal(kw, (6,))
    norm = eqx.tree_at(lambda n: n.weight, norm, w)
    np.testing.assert_allclose(f64(norm(x)), unit * (1.0 + f64(w)), rtol=1e-5, atol=1e-5)


def test_rmsnorm_bf16_in_bf16_out_and_computed_in_float32(key):
    x = 100.0 * jr.normal(key, (4, 8))  # squares overflow nothing in f32 but lose precision in bf16
    norm = RMSNorm(8)
    y16 = norm(x.astype(jnp.bfloat16))
    assert y16.dtype == jnp.bfloat16
    np.testing.assert_allclose(f64(y16), f64(norm(x)), rtol=1e-2, atol=1e-2)


def test_layernorm_matches_numpy(key):
    kx, kw, kb = jr.split(key, 3)
    norm = LayerNorm(6, eps=1e-6)
    np.testing.assert_array_equal(np.asarray(norm.weight), np.ones(6))
    np.testing.assert_array_equal(np.asarray(norm.bias), np.zeros(6))
    norm = eqx.tree_at(lambda n: (n.weight, n.bias), norm, (jr.normal(kw, (6,)), jr.normal(kb, (6,))))
    x = 2.0 + 3.0 * jr.normal(kx, (2, 3, 6))
    xn = f64(x)
    mu = xn.mean(-1, keepdims=True)
    var = ((xn - mu) ** 2).mean(-1, keepdims=True)
    expected = (xn - mu) / np.sqrt(var + 1e-6) * f64(norm.weight) + f64(norm.bias)
    np.testing.assert_allclose(f64(norm(x)), expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- RoPE


def test_rope_matches_gemma_half_rotation(key):
    kx, kp = jr.split(key)
    x = jr.normal(kx, (2, 5, 3, 8))
    positions = jr.randint(kp, (2, 5), 0, 50)
    out = apply_rope(x, positions, base=10_000.0)
    assert out.shape == x.shape
    for b in range(2):
        expected = np_rope(f64(x[b]), np.asarray(positions[b]), 10_000.0)
        np.testing.assert_allclose(f64(out[b]), expected, rtol=1e-5, atol=1e-5)


def test_rope_is_identity_at_position_zero_and_preserves_norm(key):
    x = jr.normal(key, (1, 4, 2, 6))
    out0 = apply_rope(x, jnp.zeros((1, 4), jnp.int32))
    np.testing.assert_allclose(f64(out0), f64(x), atol=1e-7)
    out = apply_rope(x, jnp.arange(4)[None] * 13)
    np.testing.assert_allclose(np.linalg.norm(f64(out), axis=-1), np.linalg.norm(f64(x), axis=-1), rtol=1e-5)


def test_rope_dot_product_depends_only_on_relative_position(key):
    kq, kk = jr.split(key)
    q = jr.normal(kq, (1, 1, 1, 16))
    k = jr.normal(kk, (1, 1, 1, 16))
    offset = 5

    def score(p):
        rq = apply_rope(q, jnp.full((1, 1), p), base=10_000.0)
        rk = apply_rope(k, jnp.full((1, 1), p + offset), base=10_000.0)
        return float(jnp.sum(rq * rk))

    scores = [score(p) for p in (0, 1, 7, 100, 1000)]
    np.testing.assert_allclose(scores, scores[0], rtol=1e-4, atol=1e-4)
    # ... and it does depend on the offset (otherwise the check above is vacuous)
    rq = apply_rope(q, jnp.zeros((1, 1), jnp.int32))
    rk = apply_rope(k, jnp.full((1, 1), offset + 3))
    assert abs(float(jnp.sum(rq * rk)) - scores[0]) > 1e-3


# ----------------------------------------------------------------------------- attention


def test_causal_mask_values():
    m = np.asarray(causal_mask(2, 4))
    expected = np.array([[j <= i for j in range(4)] for i in range(4)])
    assert m.shape == (2, 4, 4)
    np.testing.assert_array_equal(m[0], expected)
    np.testing.assert_array_equal(m[1], expected)


def test_key_padding_mask_values():
    valid = jnp.array([[True, False, True], [True, True, False]])
    m = np.asarray(key_padding_mask(valid, 2))
    assert m.shape == (2, 2, 3)
    np.testing.assert_array_equal(m[0], [[1, 0, 1], [1, 0, 1]])
    np.testing.assert_array_equal(m[1], [[1, 1, 0], [1, 1, 0]])


@pytest.mark.parametrize("num_kv_heads", [1, 2, 4])
def test_self_attention_gqa_matches_per_head_loop(key, num_kv_heads):
    ka, kp, kx, km = jr.split(key, 4)
    attn = perturb(Attention(8, 4, num_kv_heads, 3, use_bias=True, key=ka), kp)
    x = jr.normal(kx, (2, 5, 8))
    mask = jr.bernoulli(km, 0.6, (2, 5, 5)) | jnp.eye(5, dtype=bool)[None]
    out = attn(x, mask=mask)
    expected = np_attention(attn, f64(x), f64(x), np.asarray(mask))
    np.testing.assert_allclose(f64(out), expected, rtol=1e-5, atol=1e-5)


def test_gqa_heads_in_a_group_share_keys_and_values(key):
    """With K=2 kv heads and 4 query heads, heads 0,1 read kv head 0 and heads 2,3 kv head 1."""
    ka, kx = jr.split(key)
    attn = Attention(4, 4, 2, 2, key=ka)
    x = jr.normal(kx, (1, 3, 4))
    base = attn(x)
    # Zeroing kv head 1's value projection must only change what heads 2 and 3 contribute:
    # make o_proj read only heads 0 and 1; then the output must not change.
    wv = attn.v_proj.weight.at[:, 2:].set(0.0)
    wo = attn.o_proj.weight.at[4:, :].set(0.0)
    only01 = eqx.tree_at(lambda a: a.o_proj.weight, attn, wo)
    both = eqx.tree_at(lambda a: (a.v_proj.weight, a.o_proj.weight), attn, (wv, wo))
    np.testing.assert_allclose(f64(only01(x)), f64(both(x)), atol=1e-6)
    assert not np.allclose(f64(base), f64(only01(x)), atol=1e-4)


def test_attention_with_rope_matches_reference(key):
    ka, kp, kx, kpos = jr.split(key, 4)
    attn = perturb(Attention(8, 4, 2, 4, rope_base=10_000.0, key=ka), kp)
    x = jr.normal(kx, (2, 5, 8))
    positions = jnp.sort(jr.randint(kpos, (2, 5), 0, 20), axis=1)
    mask = causal_mask(2, 5)
    out = attn(x, mask=mask, positions=positions)
    expected = np_attention(attn, f64(x), f64(x), np.asarray(mask), np.asarray(positions), np.asarray(positions))
    np.testing.assert_allclose(f64(out), expected, rtol=1e-5, atol=1e-5)
    # default positions are 0..T-1
    default = attn(x, mask=mask)
    arange = jnp.broadcast_to(jnp.arange(5), (2, 5))
    np.testing.assert_allclose(f64(default), f64(attn(x, mask=mask, positions=arange)), atol=1e-6)


def test_cross_attention_to_context_of_other_width_and_length(key):
    ka, kp, kx, kc, km = jr.split(key, 5)
    attn = perturb(Attention(8, 2, 1, 4, context_dim=6, use_bias=True, key=ka), kp)
    x = jr.normal(kx, (2, 3, 8))
    ctx = jr.normal(kc, (2, 7, 6))
    mask = jr.bernoulli(km, 0.5, (2, 3, 7)).at[:, :, 0].set(True)
    out = attn(x, context=ctx, mask=mask)
    assert out.shape == (2, 3, 8)
    np.testing.assert_allclose(f64(out), np_attention(attn, f64(x), f64(ctx), np.asarray(mask)), rtol=1e-5, atol=1e-5)


def test_attention_rejects_heads_not_multiple_of_kv_heads(key):
    with pytest.raises(ValueError, match="multiple"):
        Attention(8, 3, 2, 4, key=key)


def test_masked_keys_do_not_influence_output(key):
    kq, kk, kv, kv2 = jr.split(key, 4)
    q = jr.normal(kq, (1, 3, 2, 1, 4))
    k = jr.normal(kk, (1, 5, 2, 4))
    v = jr.normal(kv, (1, 5, 2, 4))
    mask = jnp.broadcast_to(jnp.array([True, True, False, True, False]), (1, 3, 5))
    out = dot_product_attention(q, k, v, mask)
    v2 = v.at[:, jnp.array([2, 4])].set(jr.normal(kv2, (1, 2, 2, 4)) * 100.0)
    k2 = k.at[:, jnp.array([2, 4])].set(50.0)
    np.testing.assert_allclose(f64(dot_product_attention(q, k2, v2, mask)), f64(out), atol=1e-6)
    # while an attended key does matter
    v3 = v.at[:, 1].add(1.0)
    assert not np.allclose(f64(dot_product_attention(q, k, v3, mask)), f64(out))


# ----------------------------------------------------------------------------- MLPs and conv


def test_geglu_matches_numpy(key):
    km, kp, kx = jr.split(key, 3)
    mlp = perturb(GeGLU(6, 10, key=km), kp)
    x = jr.normal(kx, (2, 3, 6))
    xn = f64(x)
    expected = (gelu_tanh(xn @ f64(mlp.gate_proj.weight)) * (xn @ f64(mlp.up_proj.weight))) @ f64(mlp.down_proj.weight)
    np.testing.assert_allclose(f64(mlp(x)), expected, rtol=1e-5, atol=1e-5)


def test_mlp_uses_exact_gelu_and_biases(key):
    km, kp, kx = jr.split(key, 3)
    mlp = perturb(MLP(6, 10, key=km), kp)
    x = 2.0 * jr.normal(kx, (2, 3, 6))
    expected = np_linear(mlp.fc2, gelu_erf(np_linear(mlp.fc1, f64(x))))
    np.testing.assert_allclose(f64(mlp(x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("length", [7, 8])
def test_conv1d_matches_loop(key, stride, length):
    kc, kp, kx = jr.split(key, 3)
    conv = perturb(Conv1d(3, 4, 3, stride=stride, key=kc), kp)
    x = jr.normal(kx, (2, length, 3))
    y = conv(x)
    out_len = Conv1d.out_length(length, 3, stride)
    assert out_len == (length - 1) // stride + 1
    assert y.shape == (2, out_len, 4)
    xp = np.pad(f64(x), ((0, 0), (1, 1), (0, 0)))  # zero padding kernel // 2 on both sides
    w, b = f64(conv.weight), f64(conv.bias)
    expected = np.zeros((2, out_len, 4))
    for n in range(out_len):
        for j in range(3):  # output n is centred on input n * stride
            expected[:, n] += xp[:, n * stride + j] @ w[j]
    expected += b
    np.testing.assert_allclose(f64(y), expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- position tables


def test_sinusoidal_table_matches_whisper_formula():
    length, dim = 6, 8
    half = dim // 2
    inc = math.log(10_000.0) / (half - 1)
    expected = np.zeros((length, dim))
    for p in range(length):
        for i in range(half):
            expected[p, i] = math.sin(p * math.exp(-inc * i))
            expected[p, half + i] = math.cos(p * math.exp(-inc * i))
    np.testing.assert_allclose(f64(sinusoidal_table(length, dim)), expected, rtol=1e-5, atol=1e-5)


def test_sincos_2d_table_row_major_and_column_then_row_channels():
    h, w, dim = 2, 3, 8
    q = dim // 4
    table = f64(sincos_2d_table(h, w, dim))
    assert table.shape == (h * w, dim)
    for r in range(h):
        for c in range(w):
            row = table[r * w + c]
            omega = [1.0 / 10_000.0 ** (i / q) for i in range(q)]
            want = (
                [math.sin(c * o) for o in omega]
                + [math.cos(c * o) for o in omega]
                + [math.sin(r * o) for o in omega]
                + [math.cos(r * o) for o in omega]
            )
            np.testing.assert_allclose(row, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- Stack


def _stack(key, remat):
    return Stack(lambda k: MLP(4, 8, key=k), 3, remat=remat, key=key)


def test_stack_runs_layers_in_order(key):
    ks, kp, kx = jr.split(key, 3)
    stack = perturb(_stack(ks, False), kp)
    assert stack.layers.fc1.weight.shape == (3, 4, 8)
    x = jr.normal(kx, (2, 5, 4))
    y = f64(x)
    for i in range(3):
        layer = jax.tree.map(lambda a: a[i], stack.layers)
        y = np_linear(layer.fc2, gelu_erf(np_linear(layer.fc1, y)))
    np.testing.assert_allclose(f64(stack(x)), y, rtol=1e-5, atol=1e-5)


def test_stack_remat_gives_same_output_and_gradient(key):
    ks, kx = jr.split(key)
    plain, remat = _stack(ks, False), _stack(ks, True)
    x = jr.normal(kx, (2, 5, 4))

    def loss(m, x):
        return jnp.sum(jnp.square(m(x)))

    lp, gp = eqx.filter_value_and_grad(loss)(plain, x)
    lr, gr = eqx.filter_value_and_grad(loss)(remat, x)
    np.testing.assert_allclose(float(lp), float(lr), rtol=1e-6)
    for a, b in zip(jax.tree.leaves(gp), jax.tree.leaves(gr)):
        np.testing.assert_allclose(f64(a), f64(b), rtol=1e-5, atol=1e-6)
    assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(gp))


# ----------------------------------------------------------------------------- jit


def test_attention_under_filter_jit_equals_eager(key):
    ka, kx = jr.split(key)
    attn = Attention(8, 4, 2, 4, rope_base=10_000.0, key=ka)
    x = jr.normal(kx, (2, 5, 8))
    mask = causal_mask(2, 5)
    jitted = eqx.filter_jit(lambda m, x, mask: m(x, mask=mask))(attn, x, mask)
    np.testing.assert_allclose(f64(jitted), f64(attn(x, mask=mask)), rtol=1e-5, atol=1e-6)
