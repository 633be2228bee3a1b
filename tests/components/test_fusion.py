"""EarlyFusion (prefix-LM sequence) and LateFusion (gated cross-attention)."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pathways.components import EarlyFusion, LateFusion

# ----------------------------------------------------------------------------- helpers


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


@pytest.fixture
def rng():
    return np.random.default_rng(11)


def normal(rng, *shape) -> jax.Array:
    return jnp.asarray(rng.normal(size=shape), jnp.float32)


@eqx.filter_jit
def apply(module, inputs):
    return module(**inputs)


# ----------------------------------------------------------------------------- EarlyFusion


@pytest.fixture
def early(key):
    return EarlyFusion(EarlyFusion.Config(width=4), key=key)


def test_early_fusion_one_prefix_exact_outputs(early, rng):
    prefix = normal(rng, 2, 3, 4)
    text = normal(rng, 2, 3, 4)
    prefix_mask = jnp.array([[True, True, False], [True, True, True]])
    text_mask = jnp.array([[True, True, True], [True, True, False]])
    out = early(prefix=(prefix,), prefix_mask=(prefix_mask,), text=text, text_mask=text_mask)

    np.testing.assert_array_equal(np.asarray(out["x"]), np.concatenate([np.asarray(prefix), np.asarray(text)], axis=1))
    np.testing.assert_array_equal(np.asarray(out["x"][:, -3:]), np.asarray(text))  # text is the last T positions

    # rows are queries, columns keys; S = 3 prefix + 3 text
    expected_mask = np.array(
        [
            [  # example 0: prefix token 2 is padding
                [1, 1, 0, 0, 0, 0],
                [1, 1, 0, 0, 0, 0],
                [1, 1, 0, 0, 0, 0],
                [1, 1, 0, 1, 0, 0],
                [1, 1, 0, 1, 1, 0],
                [1, 1, 0, 1, 1, 1],
            ],
            [  # example 1: last text token is padding
                [1, 1, 1, 0, 0, 0],
                [1, 1, 1, 0, 0, 0],
                [1, 1, 1, 0, 0, 0],
                [1, 1, 1, 1, 0, 0],
                [1, 1, 1, 1, 1, 0],
                [1, 1, 1, 1, 1, 0],
            ],
        ],
        dtype=bool,
    )
    assert out["mask"].dtype == jnp.bool_
    np.testing.assert_array_equal(np.asarray(out["mask"]), expected_mask)

    assert out["positions"].dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(out["positions"]), [[0, 1, 1, 2, 3, 4], [0, 1, 2, 3, 4, 4]])
    assert out["segment_ids"].dtype == jnp.int32
    np.testing.assert_array_equal(np.asarray(out["segment_ids"]), [[0, 0, 0, 1, 1, 1]] * 2)
    np.testing.assert_array_equal(
        np.asarray(out["token_mask"]), [[1, 1, 0, 1, 1, 1], [1, 1, 1, 1, 1, 0]]
    )


def _expected_prefix_lm(valid: np.ndarray, n_prefix: int) -> np.ndarray:
    B, S = valid.shape
    mask = np.zeros((B, S, S), bool)
    for b in range(B):
        for i in range(S):
            for j in range(S):
                both_prefix = i < n_prefix and j < n_prefix
                mask[b, i, j] = valid[b, j] and (j <= i or both_prefix)
    return mask


def test_early_fusion_two_prefixes(early, rng):
    image = normal(rng, 2, 2, 4)
    audio = normal(rng, 2, 3, 4)
    text = normal(rng, 2, 2, 4)
    image_mask = np.array([[True, True], [True, False]])
    audio_mask = np.array([[True, False, False], [True, True, True]])
    text_mask = np.array([[True, True], [True, True]])
    out = apply(
        early,
        {
            "prefix": (image, audio),
            "prefix_mask": (jnp.asarray(image_mask), jnp.asarray(audio_mask)),
            "text": text,
            "text_mask": jnp.asarray(text_mask),
        },
    )
    valid = np.concatenate([image_mask, audio_mask, text_mask], axis=1)
    assert out["x"].shape == (2, 7, 4)
    np.testing.assert_array_equal(np.asarray(out["x"]), np.concatenate([image, audio, text], axis=1))
    np.testing.assert_array_equal(np.asarray(out["segment_ids"]), [[0, 0, 1, 1, 1, 2, 2]] * 2)
    np.testing.assert_array_equal(np.asarray(out["token_mask"]), valid)
    np.testing.assert_array_equal(np.asarray(out["mask"]), _expected_prefix_lm(valid, 5))
    # the image prefix sees the (later) audio prefix: bidirectional over the whole prefix
    assert bool(out["mask"][1, 0, 3])
    # positions count real tokens only
    np.testing.assert_array_equal(np.asarray(out["positions"]), [[0, 1, 2, 2, 2, 3, 4], [0, 0, 1, 2, 3, 4, 5]])


def test_early_fusion_defaults_when_no_masks(early, rng):
    out = early(prefix=(normal(rng, 1, 2, 4),), text=normal(rng, 1, 3, 4))
    np.testing.assert_array_equal(np.asarray(out["token_mask"]), np.ones((1, 5), bool))
    np.testing.assert_array_equal(np.asarray(out["positions"]), [[0, 1, 2, 3, 4]])
    np.testing.assert_array_equal(np.asarray(out["mask"]), _expected_prefix_lm(np.ones((1, 5), bool), 2))


def test_early_fusion_rejects_wrong_number_of_prefix_masks(early, rng):
    with pytest.raises(ValueError, match="prefix"):
        early(prefix=(normal(rng, 1, 2, 4), normal(rng, 1, 2, 4)), prefix_mask=(jnp.ones((1, 2), bool),), text=normal(rng, 1, 3, 4))


def test_early_fusion_casts_prefix_to_text_dtype(early, rng):
    out = early(prefix=(normal(rng, 1, 2, 4),), text=normal(rng, 1, 3, 4).astype(jnp.bfloat16))
    assert out["x"].dtype == jnp.bfloat16


def test_early_fusion_outputs_match_ports_and_jit(early, rng):
    inputs = {
        "prefix": (normal(rng, 2, 3, 4),),
        "prefix_mask": (jnp.array([[True, True, False], [True, True, True]]),),
        "text": normal(rng, 2, 2, 4),
    }
    eager = early(**inputs)
    jitted = apply(early, inputs)
    _, ports = EarlyFusion.ports(EarlyFusion.Config(width=4))
    assert set(eager) == set(ports)
    for name, port in ports.items():
        np.testing.assert_array_equal(np.asarray(jitted[name]), np.asarray(eager[name]))
        assert port.match(jax.ShapeDtypeStruct(eager[name].shape, eager[name].dtype), {}) is None, name


# ----------------------------------------------------------------------------- LateFusion

LATE = dict(width=8, context_dim=6, heads=4, kv_heads=2, head_dim=2, mlp_dim=16)


@pytest.fixture
def late(key):
    return LateFusion(LateFusion.Config(**LATE), key=key)


def with_gates(late: LateFusion, attn_gate: float, mlp_gate: float) -> LateFusion:
    return eqx.tree_at(lambda m: (m.block.attn_gate, m.block.mlp_gate), late, (jnp.array(attn_gate), jnp.array(mlp_gate)))


def test_late_fusion_is_identity_at_init(late, rng):
    assert float(late.block.attn_gate) == 0.0 and float(late.block.mlp_gate) == 0.0
    x = normal(rng, 2, 5, 8)
    out = late(x=x, context=normal(rng, 2, 3, 6), context_mask=jnp.array([[True, True, False], [True, True, True]]))
    np.testing.assert_array_equal(np.asarray(out["x"]), np.asarray(x))


def test_late_fusion_with_open_gates_mixes_in_context(late, rng):
    gated = with_gates(late, 0.7, -0.4)
    x = normal(rng, 2, 5, 8)
    ctx = normal(rng, 2, 3, 6)
    cmask = jnp.array([[True, True, False], [True, True, True]])
    out = f64(apply(gated, {"x": x, "context": ctx, "context_mask": cmask})["x"])
    assert np.abs(out - f64(x)).max() > 1e-3
    # depends on valid context ...
    ctx2 = ctx.at[:, 0].add(1.0)
    out2 = f64(apply(gated, {"x": x, "context": ctx2, "context_mask": cmask})["x"])
    assert np.abs(out2 - out).max(axis=(1, 2)).min() > 1e-4
    # ... but not on masked context tokens
    ctx3 = ctx.at[0, 2].set(100.0)
    out3 = f64(apply(gated, {"x": x, "context": ctx3, "context_mask": cmask})["x"])
    np.testing.assert_allclose(out3, out, atol=1e-6)


def _np_rms(x, w, eps=1e-6):
    return x / np.sqrt(np.mean(x**2, -1, keepdims=True) + eps) * (1.0 + w)


def test_late_fusion_matches_reference(late, rng):
    """`x + tanh(ga) * xattn(rms(x), ctx)` then `+ tanh(gm) * geglu(rms(.))`, GQA with no RoPE."""
    # random norm weights too, so (1 + w) matters
    gated = with_gates(late, 0.9, 0.5)
    gated = eqx.tree_at(
        lambda m: (m.block.attn_norm.weight, m.block.mlp_norm.weight), gated, (normal(rng, 8) * 0.3, normal(rng, 8) * 0.3)
    )
    x = normal(rng, 2, 4, 8)
    ctx = normal(rng, 2, 3, 6)
    cmask = np.array([[True, False, True], [True, True, True]])
    out = apply(gated, {"x": x, "context": ctx, "context_mask": jnp.asarray(cmask)})["x"]

    blk = gated.block
    W = {name: f64(getattr(blk.attn, name).weight) for name in ("q_proj", "k_proj", "v_proj", "o_proj")}
    H, K, hd = 4, 2, 2
    expected = np.zeros((2, 4, 8))
    for b in range(2):
        xb = f64(x[b])
        h = _np_rms(xb, f64(blk.attn_norm.weight))
        q = (h @ W["q_proj"]).reshape(4, H, hd)
        k = (f64(ctx[b]) @ W["k_proj"]).reshape(3, K, hd)
        v = (f64(ctx[b]) @ W["v_proj"]).reshape(3, K, hd)
        heads = []
        for head in range(H):
            g = head // (H // K)
            logits = np.where(cmask[b][None, :], q[:, head] @ k[:, g].T / math.sqrt(hd), -np.inf)
            p = np.exp(logits - logits.max(-1, keepdims=True))
            heads.append(p / p.sum(-1, keepdims=True) @ v[:, g])
        xb = xb + math.tanh(0.9) * (np.concatenate(heads, -1) @ W["o_proj"])
        h = _np_rms(xb, f64(blk.mlp_norm.weight))
        gate = h @ f64(blk.mlp.gate_proj.weight)
        gelu = 0.5 * gate * (1 + np.tanh(math.sqrt(2 / math.pi) * (gate + 0.044715 * gate**3)))
        xb = xb + math.tanh(0.5) * ((gelu * (h @ f64(blk.mlp.up_proj.weight))) @ f64(blk.mlp.down_proj.weight))
        expected[b] = xb
    np.testing.assert_allclose(f64(out), expected, rtol=1e-5, atol=1e-5)


def test_late_fusion_jit_equals_eager(late, rng):
    gated = with_gates(late, 0.3, 0.2)
    inputs = {"x": normal(rng, 2, 5, 8), "context": normal(rng, 2, 3, 6)}
    np.testing.assert_allclose(f64(apply(gated, inputs)["x"]), f64(gated(**inputs)["x"]), rtol=1e-5, atol=1e-6)


def test_late_fusion_defaults_context_dim_to_width(key):
    late = eqx.filter_eval_shape(LateFusion, LateFusion.Config(width=8, heads=2, head_dim=4), key=key)
    assert late.block.attn.k_proj.weight.shape == (8, 8)  # context_dim = width, kv_heads = heads
    assert late.block.attn.q_proj.weight.shape == (8, 8)
    assert late.block.mlp.gate_proj.weight.shape == (8, 32)  # mlp_dim = 4 * width


# ----------------------------------------------------------------------------- PaliGemma / Gemma 3 masks


def hand_mask(blocks: list[int]) -> np.ndarray:
    """Causal, plus bidirectional where both positions share a block id >= 0 (written out by loops)."""
    S = len(blocks)
    return np.array([[j <= i or (blocks[i] >= 0 and blocks[i] == blocks[j]) for j in range(S)] for i in range(S)])


def test_joint_prefix_with_a_text_prefix_is_paligemmas_prefix_lm(key, rng):
    fusion = EarlyFusion(EarlyFusion.Config(width=4, first_position=1), key=key)
    prompt = jnp.array([[True, True, False, False]])
    out = fusion(prefix=(normal(rng, 1, 2, 4), normal(rng, 1, 1, 4)), text=normal(rng, 1, 4, 4), text_prefix=prompt)
    np.testing.assert_array_equal(out["mask"][0], hand_mask([0, 0, 0, 0, 0, -1, -1]))
    np.testing.assert_array_equal(out["positions"][0], np.arange(7) + 1)  # PaliGemma's positions start at 1


def test_per_prefix_attention_is_gemma3s_bidirectional_image_blocks(key, rng):
    fusion = EarlyFusion(EarlyFusion.Config(width=4, prefix_attention="per_prefix"), key=key)
    out = fusion(prefix=(normal(rng, 1, 2, 4), normal(rng, 1, 3, 4)), text=normal(rng, 1, 2, 4))
    np.testing.assert_array_equal(out["mask"][0], hand_mask([0, 0, 1, 1, 1, -1, -1]))
    assert not out["mask"][0, 0, 2]  # the first image does not see the second
    np.testing.assert_array_equal(out["positions"][0], np.arange(7))
