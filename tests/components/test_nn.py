"""The layers in `pathways.nn` against independent NumPy (float64) computations.

Parameters for parity checks are random (so zero-initialised biases and norm weights
matter): the layer is traced with `eqx.filter_eval_shape` and its leaves filled from
NumPy, which avoids compiling a random initialiser for every shape.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
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

RNG_SEED = 1234


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def normal(rng, *shape, scale=1.0) -> jax.Array:
    return jnp.asarray(scale * rng.normal(size=shape), jnp.float32)


def random_module(cls, *args, key, rng, **kwargs):
    """`cls(*args, key=key, **kwargs)` with every float leaf drawn at random (fan-in scaled)."""
    abstract = eqx.filter_eval_shape(cls, *args, key=key, **kwargs)

    def fill(leaf):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            scale = 1.0 / math.sqrt(leaf.shape[-2]) if len(leaf.shape) >= 2 else 0.3
            return jnp.asarray(scale * rng.normal(size=leaf.shape), leaf.dtype)
        return leaf

    return jax.tree.map(fill, abstract, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))


@eqx.filter_jit
def jcall(f, *args, **kwargs):
    return f(*args, **kwargs)


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


@pytest.fixture
def rng():
    return np.random.default_rng(RNG_SEED)


# ----------------------------------------------------------------------------- Linear


@pytest.mark.parametrize("use_bias", [True, False])
def test_linear_on_3d_input_equals_matmul_plus_bias(key, rng, use_bias):
    layer = random_module(Linear, 5, 7, use_bias=use_bias, key=key, rng=rng)
    assert layer.weight.shape == (5, 7)
    assert (layer.bias is not None) == use_bias
    x = normal(rng, 2, 3, 5)
    y = layer(x)
    assert y.shape == (2, 3, 7)
    expected = f64(x) @ f64(layer.weight) + (f64(layer.bias) if use_bias else 0.0)
    np.testing.assert_allclose(f64(y), expected, rtol=1e-5, atol=1e-5)


def test_linear_init_bias_zero_and_weight_scale(key):
    layer = Linear(64, 64, use_bias=True, key=key)
    np.testing.assert_array_equal(np.asarray(layer.bias), np.zeros(64))
    # truncated normal on (-2, 2) times 1/sqrt(fan_in): std about 0.88 / 8, never beyond 2 / 8
    w = np.asarray(layer.weight)
    assert np.abs(w).max() <= 2.0 / 8 + 1e-6
    assert 0.8 / 8 < w.std() < 0.96 / 8


def test_linear_keeps_input_dtype(key, rng):
    layer = random_module(Linear, 4, 3, key=key, rng=rng)
    assert layer(jnp.ones((2, 4), jnp.bfloat16)).dtype == jnp.bfloat16


def test_count_params_counts_float_leaves_only(key, rng):
    layer = random_module(Linear, 5, 7, use_bias=True, key=key, rng=rng)
    assert count_params(layer) == 5 * 7 + 7
    assert count_params({"a": jnp.zeros((3, 4)), "ids": jnp.zeros((10,), jnp.int32)}) == 12


# ----------------------------------------------------------------------------- norms


def test_rmsnorm_scale_is_one_plus_weight_with_weight_zero_at_init(rng):
    norm = RMSNorm(6, eps=1e-6)
    np.testing.assert_array_equal(np.asarray(norm.weight), np.zeros(6))
    x = normal(rng, 2, 3, 6, scale=3.0)
    xn = f64(x)
    unit = xn / np.sqrt(np.mean(xn**2, axis=-1, keepdims=True) + 1e-6)
    # at init the output has unit RMS (scale 1 + 0)
    np.testing.assert_allclose(f64(norm(x)), unit, rtol=1e-5, atol=1e-5)
    w = normal(rng, 6)
    norm = eqx.tree_at(lambda n: n.weight, norm, w)
    np.testing.assert_allclose(f64(norm(x)), unit * (1.0 + f64(w)), rtol=1e-5, atol=1e-5)


def test_rmsnorm_bf16_in_bf16_out(rng):
    x = normal(rng, 4, 6, scale=100.0)
    norm = RMSNorm(6)
    y16 = norm(x.astype(jnp.bfloat16))
    assert y16.dtype == jnp.bfloat16
    np.testing.assert_allclose(f64(y16), f64(norm(x)), rtol=2e-2, atol=2e-2)


def test_layernorm_matches_numpy(rng):
    norm = LayerNorm(6, eps=1e-6)
    np.testing.assert_array_equal(np.asarray(norm.weight), np.ones(6))
    np.testing.assert_array_equal(np.asarray(norm.bias), np.zeros(6))
    norm = eqx.tree_at(lambda n: (n.weight, n.bias), norm, (normal(rng, 6), normal(rng, 6)))
    x = 2.0 + normal(rng, 2, 3, 6, scale=3.0)
    xn = f64(x)
    mu = xn.mean(-1, keepdims=True)
    var = ((xn - mu) ** 2).mean(-1, keepdims=True)
    expected = (xn - mu) / np.sqrt(var + 1e-6) * f64(norm.weight) + f64(norm.bias)
    np.testing.assert_allclose(f64(norm(x)), expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- RoPE


def test_rope_matches_gemma_half_rotation(rng):
    x = normal(rng, 2, 5, 3, 8)
    positions = jnp.asarray(rng.integers(0, 50, size=(2, 5)), jnp.int32)
    out = jcall(apply_rope, x, positions, base=10_000.0)
    assert out.shape == x.shape
    for b in range(2):
        expected = np_rope(f64(x[b]), np.asarray(positions[b]), 10_000.0)
        np.testing.assert_allclose(f64(out[b]), expected, rtol=1e-5, atol=1e-5)


def test_rope_is_identity_at_position_zero_and_preserves_norm(rng):
    x = normal(rng, 2, 5, 3, 8)
    out0 = jcall(apply_rope, x, jnp.zeros((2, 5), jnp.int32), base=10_000.0)
    np.testing.assert_allclose(f64(out0), f64(x), atol=1e-7)
    out = jcall(apply_rope, x, jnp.broadcast_to(jnp.arange(5) * 13, (2, 5)), base=10_000.0)
    np.testing.assert_allclose(np.linalg.norm(f64(out), axis=-1), np.linalg.norm(f64(x), axis=-1), rtol=1e-5)


def test_rope_dot_product_depends_only_on_relative_position(rng):
    # one "batch" row per absolute start position p; the key sits at p + offset
    starts = np.array([0, 1, 7, 100, 1000])
    offset = 5
    q = np.broadcast_to(rng.normal(size=(1, 1, 1, 16)), (5, 1, 1, 16))
    k = np.broadcast_to(rng.normal(size=(1, 1, 1, 16)), (5, 1, 1, 16))
    rq = jcall(apply_rope, jnp.asarray(q, jnp.float32), jnp.asarray(starts[:, None], jnp.int32), base=10_000.0)
    rk = jcall(apply_rope, jnp.asarray(k, jnp.float32), jnp.asarray(starts[:, None] + offset, jnp.int32), base=10_000.0)
    scores = np.sum(f64(rq) * f64(rk), axis=-1).ravel()
    np.testing.assert_allclose(scores, scores[0], rtol=1e-4, atol=1e-4)
    # ... and it does depend on the offset, otherwise the check above would be vacuous
    rk_far = jcall(apply_rope, jnp.asarray(k, jnp.float32), jnp.asarray(starts[:, None] + 3 * offset, jnp.int32), base=10_000.0)
    far = np.sum(f64(rq) * f64(rk_far), axis=-1).ravel()
    assert abs(far[0] - scores[0]) > 1e-3


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
def test_self_attention_gqa_matches_per_head_loop(key, rng, num_kv_heads):
    attn = random_module(Attention, 8, 4, num_kv_heads, 3, use_bias=True, key=key, rng=rng)
    x = normal(rng, 2, 5, 8)
    mask = jnp.asarray((rng.random((2, 5, 5)) < 0.6) | np.eye(5, dtype=bool)[None])
    out = jcall(attn, x, mask=mask)
    expected = np_attention(attn, f64(x), f64(x), np.asarray(mask))
    np.testing.assert_allclose(f64(out), expected, rtol=1e-5, atol=1e-5)


def test_gqa_heads_in_a_group_share_keys_and_values(key, rng):
    """With 2 kv heads and 4 query heads, heads 0, 1 read kv head 0 and heads 2, 3 read kv head 1."""
    attn = random_module(Attention, 8, 4, 2, 3, key=key, rng=rng)
    x = normal(rng, 1, 5, 8)
    # Let o_proj read only query heads 0 and 1 ...
    only01 = eqx.tree_at(lambda a: a.o_proj.weight, attn, attn.o_proj.weight.at[6:, :].set(0.0))
    # ... then scrambling kv head 1's values must not change anything,
    scrambled = eqx.tree_at(lambda a: a.v_proj.weight, only01, only01.v_proj.weight.at[:, 3:].multiply(-5.0))
    np.testing.assert_allclose(f64(jcall(scrambled, x)), f64(jcall(only01, x)), atol=1e-6)
    # while scrambling kv head 0's values does.
    scrambled0 = eqx.tree_at(lambda a: a.v_proj.weight, only01, only01.v_proj.weight.at[:, :3].multiply(-5.0))
    assert not np.allclose(f64(jcall(scrambled0, x)), f64(jcall(only01, x)), atol=1e-4)


def test_attention_with_rope_matches_reference(key, rng):
    attn = random_module(Attention, 8, 4, 2, 4, rope_base=10_000.0, key=key, rng=rng)
    x = normal(rng, 2, 5, 8)
    positions = jnp.asarray(np.sort(rng.integers(0, 20, size=(2, 5)), axis=1), jnp.int32)
    mask = causal_mask(2, 5)
    out = jcall(attn, x, mask=mask, positions=positions)
    expected = np_attention(attn, f64(x), f64(x), np.asarray(mask), np.asarray(positions), np.asarray(positions))
    np.testing.assert_allclose(f64(out), expected, rtol=1e-5, atol=1e-5)
    # default positions are 0..T-1
    arange = jnp.broadcast_to(jnp.arange(5, dtype=jnp.int32), (2, 5))
    np.testing.assert_allclose(f64(jcall(attn, x, mask=mask)), f64(jcall(attn, x, mask=mask, positions=arange)), atol=1e-6)


def test_cross_attention_to_context_of_other_width_and_length(key, rng):
    attn = random_module(Attention, 8, 2, 1, 4, context_dim=6, use_bias=True, key=key, rng=rng)
    x = normal(rng, 2, 3, 8)
    ctx = normal(rng, 2, 7, 6)
    mask = rng.random((2, 3, 7)) < 0.5
    mask[:, :, 0] = True
    out = jcall(attn, x, context=ctx, mask=jnp.asarray(mask))
    assert out.shape == (2, 3, 8)
    np.testing.assert_allclose(f64(out), np_attention(attn, f64(x), f64(ctx), mask), rtol=1e-5, atol=1e-5)


def test_attention_rejects_heads_not_multiple_of_kv_heads(key):
    with pytest.raises(ValueError, match="multiple"):
        Attention(8, 3, 2, 4, key=key)


def test_masked_keys_do_not_influence_output(rng):
    q = normal(rng, 1, 3, 2, 1, 4)
    k = normal(rng, 1, 5, 2, 4)
    v = normal(rng, 1, 5, 2, 4)
    mask = jnp.broadcast_to(jnp.array([True, True, False, True, False]), (1, 3, 5))
    out = jcall(dot_product_attention, q, k, v, mask)
    k2 = k.at[:, 2].set(50.0).at[:, 4].set(-50.0)
    v2 = v.at[:, 2].set(100.0).at[:, 4].set(-100.0)
    np.testing.assert_allclose(f64(jcall(dot_product_attention, q, k2, v2, mask)), f64(out), atol=1e-6)
    # while an attended key does matter
    v3 = v.at[:, 1].add(1.0)
    assert not np.allclose(f64(jcall(dot_product_attention, q, k, v3, mask)), f64(out))


# ----------------------------------------------------------------------------- MLPs and conv


def test_geglu_matches_numpy(key, rng):
    mlp = random_module(GeGLU, 6, 10, key=key, rng=rng)
    x = normal(rng, 2, 3, 6)
    xn = f64(x)
    expected = (gelu_tanh(xn @ f64(mlp.gate_proj.weight)) * (xn @ f64(mlp.up_proj.weight))) @ f64(mlp.down_proj.weight)
    np.testing.assert_allclose(f64(jcall(mlp, x)), expected, rtol=1e-5, atol=1e-5)


def test_mlp_uses_exact_gelu_and_biases(key, rng):
    mlp = random_module(MLP, 6, 10, key=key, rng=rng)
    x = normal(rng, 2, 3, 6, scale=2.0)
    expected = np_linear(mlp.fc2, gelu_erf(np_linear(mlp.fc1, f64(x))))
    np.testing.assert_allclose(f64(jcall(mlp, x)), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("length", [7, 8])
def test_conv1d_matches_loop(key, rng, stride, length):
    conv = random_module(Conv1d, 3, 4, 3, stride=stride, key=key, rng=rng)
    x = normal(rng, 2, length, 3)
    y = jcall(conv, x)
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


def test_sincos_2d_table_row_major_column_channels_then_row_channels():
    h, w, dim = 2, 3, 8
    q = dim // 4
    omega = [1.0 / 10_000.0 ** (i / q) for i in range(q)]
    table = f64(sincos_2d_table(h, w, dim))
    assert table.shape == (h * w, dim)
    for r in range(h):
        for c in range(w):
            want = (
                [math.sin(c * o) for o in omega]
                + [math.cos(c * o) for o in omega]
                + [math.sin(r * o) for o in omega]
                + [math.cos(r * o) for o in omega]
            )
            np.testing.assert_allclose(table[r * w + c], want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- Stack


def test_stack_runs_layers_in_order(key, rng):
    stack = random_module(Stack, lambda k: MLP(4, 8, key=k), 3, key=key, rng=rng)
    assert stack.layers.fc1.weight.shape == (3, 4, 8)
    x = normal(rng, 2, 5, 4)
    y = f64(x)
    for i in range(3):
        layer = jax.tree.map(lambda a: a[i], stack.layers)
        y = np_linear(layer.fc2, gelu_erf(np_linear(layer.fc1, y)))
    np.testing.assert_allclose(f64(jcall(stack, x)), y, rtol=1e-5, atol=1e-5)
    # order matters: reversing the layers gives something else
    reversed_stack = eqx.tree_at(lambda s: s.layers, stack, jax.tree.map(lambda a: a[::-1], stack.layers))
    assert not np.allclose(f64(jcall(reversed_stack, x)), y, atol=1e-3)


def test_stack_remat_gives_same_output_and_gradient(key, rng):
    plain = random_module(Stack, lambda k: MLP(4, 8, key=k), 3, key=key, rng=rng)
    # the same arrays with remat switched on
    abstract = eqx.filter_eval_shape(Stack, lambda k: MLP(4, 8, key=k), 3, remat=True, key=key)
    remat = eqx.tree_at(lambda s: s.layers, abstract, plain.layers)
    assert remat.remat and not plain.remat
    x = normal(rng, 2, 5, 4)

    @eqx.filter_jit
    def value_and_grad(m, x):
        return eqx.filter_value_and_grad(lambda m, x: jnp.sum(jnp.square(m(x))))(m, x)

    lp, gp = value_and_grad(plain, x)
    lr, gr = value_and_grad(remat, x)
    np.testing.assert_allclose(float(lp), float(lr), rtol=1e-6)
    for a, b in zip(jax.tree.leaves(gp), jax.tree.leaves(gr)):
        np.testing.assert_allclose(f64(a), f64(b), rtol=1e-5, atol=1e-6)
    assert any(float(jnp.abs(g).max()) > 0 for g in jax.tree.leaves(gp))
