"""TokenEmbedding: scaled lookup, padding mask, and the table a tied head reads."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from pathways.components import TokenEmbedding

VOCAB, WIDTH, PAD = 11, 8, 3


@pytest.fixture
def embed(key):
    return TokenEmbedding(TokenEmbedding.Config(vocab_size=VOCAB, width=WIDTH, pad_id=PAD), key=key)


@pytest.fixture
def tokens():
    return jnp.array([[1, 4, 3, 3], [0, 10, 7, 3]], jnp.int32)


def test_embeddings_are_scaled_rows_of_the_weight(embed, tokens):
    out = embed(tokens=tokens)
    w = np.asarray(embed.weight, np.float64)
    expected = w[np.asarray(tokens)] * math.sqrt(WIDTH)
    assert out["embeddings"].shape == (2, 4, WIDTH)
    assert out["embeddings"].dtype == jnp.float32
    np.testing.assert_allclose(np.asarray(out["embeddings"], np.float64), expected, rtol=1e-6, atol=1e-6)


def test_mask_is_tokens_not_equal_to_pad_id(embed, tokens):
    mask = embed(tokens=tokens)["mask"]
    assert mask.dtype == jnp.bool_
    np.testing.assert_array_equal(np.asarray(mask), [[True, True, False, False], [True, True, True, False]])


def test_default_pad_id_is_zero(key, tokens):
    embed = TokenEmbedding(TokenEmbedding.Config(vocab_size=VOCAB, width=WIDTH), key=key)
    np.testing.assert_array_equal(np.asarray(embed(tokens=tokens)["mask"]), np.asarray(tokens) != 0)


def test_table_is_the_weight(embed, tokens):
    out = embed(tokens=tokens)
    assert out["table"] is embed.weight
    assert out["table"].shape == (VOCAB, WIDTH)


def test_outputs_match_declared_ports(embed, tokens):
    _, outputs = TokenEmbedding.ports(TokenEmbedding.Config(vocab_size=VOCAB, width=WIDTH, pad_id=PAD))
    out = embed(tokens=tokens)
    assert set(out) == set(outputs)
    for name, port in outputs.items():
        scope: dict[str, int] = {}
        assert port.match(jax.ShapeDtypeStruct(out[name].shape, out[name].dtype), scope) is None, name


def test_init_gives_unit_rms_embeddings(key):
    """Weight ~ N(0, 1/width), so the sqrt(width)-scaled embeddings have RMS about 1 (Gemma)."""
    embed = TokenEmbedding(TokenEmbedding.Config(vocab_size=512, width=WIDTH), key=key)
    emb = np.asarray(embed(tokens=jnp.arange(512, dtype=jnp.int32)[None])["embeddings"])
    assert 0.9 < float(np.sqrt(np.mean(emb**2))) < 1.1


def test_gradient_reaches_only_the_rows_used(embed, tokens):
    def loss(m):
        return jnp.sum(m(tokens=tokens)["embeddings"])

    grad = np.asarray(eqx.filter_grad(loss)(embed).weight)
    counts = np.bincount(np.asarray(tokens).ravel(), minlength=VOCAB)
    expected = counts[:, None] * math.sqrt(WIDTH) * np.ones((1, WIDTH))
    np.testing.assert_allclose(grad, expected, rtol=1e-6)


def test_filter_jit_equals_eager(embed, tokens):
    eager = embed(tokens=tokens)
    jitted = eqx.filter_jit(lambda m, t: m(tokens=t))(embed, tokens)
    for name in ("embeddings", "mask", "table"):
        np.testing.assert_array_equal(np.asarray(jitted[name]), np.asarray(eager[name]))


def test_config_rejects_unknown_fields():
    with pytest.raises(pydantic.ValidationError):
        TokenEmbedding.Config(vocab_size=VOCAB, width=WIDTH, padding_id=0)
