"""LMHead (tied, untied, softcap) and ClassifierHead pooling against NumPy."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pathways.components import ClassifierHead, LMHead, TokenEmbedding


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


@pytest.fixture
def rng():
    return np.random.default_rng(21)


def normal(rng, *shape, scale=1.0) -> jax.Array:
    return jnp.asarray(scale * rng.normal(size=shape), jnp.float32)


@eqx.filter_jit
def apply(module, inputs):
    return module(**inputs)


V, D = 7, 4

# ----------------------------------------------------------------------------- LMHead


def test_tied_head_logits_are_x_times_table_transposed(key, rng):
    head = LMHead(LMHead.Config(vocab_size=V, width=D, tied=True), key=key)
    assert head.weight is None
    assert jax.tree.leaves(eqx.filter(head, eqx.is_array)) == []  # no parameters of its own
    x = normal(rng, 2, 3, D)
    table = normal(rng, V, D)
    logits = head(x=x, embedding=table)["logits"]
    assert logits.shape == (2, 3, V) and logits.dtype == jnp.float32
    np.testing.assert_allclose(f64(logits), f64(x) @ f64(table).T, rtol=1e-5, atol=1e-5)


def test_tied_head_with_token_embedding_table_scores_its_own_rows_highest(key):
    embed = TokenEmbedding(TokenEmbedding.Config(vocab_size=V, width=64), key=key)
    head = LMHead(LMHead.Config(vocab_size=V, width=64, tied=True), key=key)
    out = embed(tokens=jnp.arange(V, dtype=jnp.int32)[None])
    logits = head(x=out["embeddings"], embedding=out["table"])["logits"][0]
    np.testing.assert_array_equal(np.argmax(np.asarray(logits), axis=-1), np.arange(V))


def test_untied_head_uses_its_own_weight(key, rng):
    head = LMHead(LMHead.Config(vocab_size=V, width=D), key=key)
    assert head.weight.shape == (D, V)
    x = normal(rng, 2, 3, D)
    logits = head(x=x)["logits"]
    np.testing.assert_allclose(f64(logits), f64(x) @ f64(head.weight), rtol=1e-5, atol=1e-5)
    # an embedding passed by mistake is not used
    np.testing.assert_array_equal(np.asarray(head(x=x, embedding=normal(rng, V, D))["logits"]), np.asarray(logits))


@pytest.mark.parametrize("tied", [False, True])
def test_softcap(key, rng, tied):
    cap = 2.0
    head = LMHead(LMHead.Config(vocab_size=V, width=D, tied=tied, softcap=cap), key=key)
    x = normal(rng, 2, 3, D, scale=4.0)
    table = normal(rng, V, D)
    w = f64(table).T if tied else f64(head.weight)
    raw = f64(x) @ w
    assert np.abs(raw).max() > cap  # the cap actually bites
    logits = f64(head(x=x, embedding=table if tied else None)["logits"])
    np.testing.assert_allclose(logits, cap * np.tanh(raw / cap), rtol=1e-5, atol=1e-5)
    assert np.abs(logits).max() < cap


def test_bf16_input_gives_float32_logits(key, rng):
    head = LMHead(LMHead.Config(vocab_size=V, width=D), key=key)
    x = normal(rng, 1, 2, D)
    logits = head(x=x.astype(jnp.bfloat16))["logits"]
    assert logits.dtype == jnp.float32
    np.testing.assert_allclose(f64(logits), f64(x) @ f64(head.weight), rtol=5e-2, atol=5e-2)


def test_lm_head_ports(key):
    tied_in, out = LMHead.ports(LMHead.Config(vocab_size=V, width=D, tied=True))
    assert tied_in["embedding"].shape == (V, D)
    assert out["logits"].dtype == "float32"
    untied_in, _ = LMHead.ports(LMHead.Config(vocab_size=V, width=D))
    assert "embedding" not in untied_in


@pytest.mark.parametrize("tied", [False, True])
def test_lm_head_jit_equals_eager(key, rng, tied):
    head = LMHead(LMHead.Config(vocab_size=V, width=D, tied=tied, softcap=30.0), key=key)
    inputs = {"x": normal(rng, 2, 3, D)}
    if tied:
        inputs["embedding"] = normal(rng, V, D)
    np.testing.assert_allclose(f64(apply(head, inputs)["logits"]), f64(head(**inputs)["logits"]), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------- ClassifierHead

C = 3


def classifier(key, rng, pool):
    head = ClassifierHead(ClassifierHead.Config(width=D, num_classes=C, pool=pool), key=key)
    return eqx.tree_at(lambda h: h.proj.bias, head, normal(rng, C))  # a nonzero bias, so it is checked


def np_classify(head, pooled):
    return pooled @ f64(head.proj.weight) + f64(head.proj.bias)


MASK = np.array([[True, True, True, False, False], [True, True, True, True, True], [True, False, False, False, False]])


def test_mean_pool_over_real_tokens(key, rng):
    head = classifier(key, rng, "mean")
    x = normal(rng, 3, 5, D)
    logits = head(x=x, mask=jnp.asarray(MASK))["logits"]
    assert logits.shape == (3, C) and logits.dtype == jnp.float32
    xn = f64(x)
    pooled = np.stack([xn[b, MASK[b]].mean(axis=0) for b in range(3)])
    np.testing.assert_allclose(f64(logits), np_classify(head, pooled), rtol=1e-5, atol=1e-5)
    # padding values are irrelevant
    np.testing.assert_allclose(f64(head(x=x.at[0, 3:].set(99.0), mask=jnp.asarray(MASK))["logits"]), f64(logits), atol=1e-5)


def test_mean_pool_without_mask_and_with_empty_mask(key, rng):
    head = classifier(key, rng, "mean")
    x = normal(rng, 2, 5, D)
    np.testing.assert_allclose(f64(head(x=x)["logits"]), np_classify(head, f64(x).mean(axis=1)), rtol=1e-5, atol=1e-5)
    empty = head(x=x, mask=jnp.zeros((2, 5), bool))["logits"]
    np.testing.assert_allclose(f64(empty), np.broadcast_to(f64(head.proj.bias), (2, C)), atol=1e-6)  # zero vector, no NaN


def test_first_pool(key, rng):
    head = classifier(key, rng, "first")
    x = normal(rng, 3, 5, D)
    logits = head(x=x, mask=jnp.asarray(MASK))["logits"]
    np.testing.assert_allclose(f64(logits), np_classify(head, f64(x)[:, 0]), rtol=1e-5, atol=1e-5)


def test_last_pool_takes_last_real_token(key, rng):
    head = classifier(key, rng, "last")
    x = normal(rng, 3, 5, D)
    logits = head(x=x, mask=jnp.asarray(MASK))["logits"]
    last = [2, 4, 0]  # last True of each row of MASK
    np.testing.assert_allclose(f64(logits), np_classify(head, f64(x)[np.arange(3), last]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(f64(head(x=x)["logits"]), np_classify(head, f64(x)[:, -1]), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pool", ["mean", "first", "last"])
def test_classifier_jit_equals_eager(key, rng, pool):
    head = classifier(key, rng, pool)
    inputs = {"x": normal(rng, 3, 5, D), "mask": jnp.asarray(MASK)}
    np.testing.assert_allclose(f64(apply(head, inputs)["logits"]), f64(head(**inputs)["logits"]), rtol=1e-6, atol=1e-6)
