"""The perceiver_resampler pathway: shapes, masking, parameter count, a hand-written
reference, and a YAML config that uses it through the installed plugin."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest
from pathways_perceiver import PerceiverResampler

import pathways
from pathways.nn import count_params
from pathways.plugins import component_registry

# Same strictness as the core suite (tests/conftest.py does not reach plugins/).
jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jr.key(0)


def make(key, **config) -> PerceiverResampler:
    return PerceiverResampler(PerceiverResampler.Config(**config), key=key)


@eqx.filter_jit
def run(model, tokens, mask=None):
    return model(tokens=tokens, mask=mask)


@eqx.filter_jit
def perturbed(model, key, scale=0.1):
    """`model` with noise on every parameter, so norms' scales and biases matter too."""
    params, static = eqx.partition(model, eqx.is_array)
    leaves, treedef = jax.tree.flatten(params)
    keys = jr.split(key, len(leaves))
    leaves = [p + scale * jr.normal(k, p.shape, p.dtype) for p, k in zip(leaves, keys)]
    return eqx.combine(jax.tree.unflatten(treedef, leaves), static)


def test_registered_by_the_perceiver_plugin():
    entry = component_registry().get("perceiver_resampler")
    assert entry.cls is PerceiverResampler
    assert entry.plugin == "perceiver"
    assert entry.cls.kind == "connector"


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16])
def test_vit_tokens_to_latents(key, dtype):
    # ViT-B/16 at 224px: 196 patch tokens of width 768, resampled to 16 tokens of 256.
    model = make(key, width=128, context_dim=768, num_latents=16, depth=2, heads=4, out_dim=256)
    tokens = jr.normal(jr.key(1), (2, 196, 768), dtype)
    out = run(model, tokens, jnp.ones((2, 196), dtype=bool))
    assert out["tokens"].shape == (2, 16, 256)
    assert out["tokens"].dtype == dtype
    assert out["mask"].shape == (2, 16) and out["mask"].dtype == jnp.bool_
    assert bool(out["mask"].all())
    assert bool(jnp.isfinite(out["tokens"].astype(jnp.float32)).all())
    # The ports say the same as the module does.
    ins, outs = PerceiverResampler.ports(PerceiverResampler.Config(width=128, context_dim=768, num_latents=16, heads=4, out_dim=256))
    assert ins["tokens"].shape == ("B", "N", 768) and ins["mask"].optional
    assert outs["tokens"].shape == ("B", 16, 256)


def test_padded_tokens_are_never_attended(key):
    model = perturbed(make(key, width=32, num_latents=8, depth=2, heads=4), jr.key(1))
    B, N, D = 3, 20, 32
    lengths = jnp.array([20, 7, 0])  # full, padded, nothing real at all
    mask = jnp.arange(N)[None, :] < lengths[:, None]  # [B, N]
    tokens = jr.normal(jr.key(2), (B, N, D))
    garbage = jnp.where(mask[:, :, None], tokens, 1e3 * jr.normal(jr.key(3), (B, N, D)))

    out = run(model, tokens, mask)["tokens"]
    np.testing.assert_array_equal(out, run(model, garbage, mask)["tokens"])
    assert bool(jnp.isfinite(out).all())  # a fully padded row still attends to the latents
    # Padding changes nothing: a row equals the same tokens without the padding.
    np.testing.assert_allclose(out[1], run(model, tokens[1:2, :7])["tokens"][0], rtol=1e-5, atol=1e-5)
    # ...and the mask is what does it.
    assert not np.allclose(out[1], run(model, garbage, jnp.ones((B, N), dtype=bool))["tokens"][1], atol=1e-3)


def test_parameters_do_not_depend_on_sequence_length(key):
    W, Dc, L, M, O, depth = 32, 24, 8, 80, 40, 3
    model = make(key, width=W, context_dim=Dc, num_latents=L, depth=depth, heads=4, mlp_dim=M, out_dim=O)
    per_layer = 3 * 2 * W + 4 * W * W + (W * M + M) + (M * W + W)  # three norms, attention, MLP
    assert count_params(model) == L * W + Dc * W + depth * per_layer + 2 * W + W * O
    for n in (1, 49, 196, 577):
        out = eqx.filter_eval_shape(run, model, jax.ShapeDtypeStruct((2, n, Dc), jnp.float32))
        assert out["tokens"].shape == (2, L, O)


def _layer_norm(x, w, b, eps=1e-6):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


_erf = np.vectorize(math.erf)


def reference(model: PerceiverResampler, tokens, mask):
    """The resampler written out in float64 numpy, one layer at a time."""
    f = lambda a: np.asarray(a, np.float64)  # noqa: E731
    tokens, mask = f(tokens), np.asarray(mask)
    ctx = tokens if model.context_proj is None else tokens @ f(model.context_proj.weight)
    B, N, _ = ctx.shape
    L, D = model.latents.shape
    layers = model.layers.layers  # every leaf has a leading layer axis
    H = layers.attn.num_heads
    hd = D // H
    valid = np.concatenate([mask, np.ones((B, L), bool)], axis=1)  # [B, N+L]
    x = np.broadcast_to(f(model.latents), (B, L, D))
    for i in range(model.layers.num):
        p = jax.tree.map(lambda a: f(a[i]), layers)
        q_in = _layer_norm(x, p.norm_latents.weight, p.norm_latents.bias)
        kv = np.concatenate([_layer_norm(ctx, p.norm_context.weight, p.norm_context.bias), q_in], axis=1)
        q = (q_in @ p.attn.q_proj.weight).reshape(B, L, H, hd)
        k = (kv @ p.attn.k_proj.weight).reshape(B, N + L, H, hd)
        v = (kv @ p.attn.v_proj.weight).reshape(B, N + L, H, hd)
        logits = np.einsum("blhd,bshd->bhls", q, k) / np.sqrt(hd)
        logits = np.where(valid[:, None, None, :], logits, -np.inf)
        probs = np.exp(logits - logits.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        attended = np.einsum("bhls,bshd->blhd", probs, v).reshape(B, L, D)
        x = x + attended @ p.attn.o_proj.weight
        h = _layer_norm(x, p.norm_mlp.weight, p.norm_mlp.bias) @ p.mlp.fc1.weight + p.mlp.fc1.bias
        h = 0.5 * h * (1.0 + _erf(h / np.sqrt(2.0)))
        x = x + h @ p.mlp.fc2.weight + p.mlp.fc2.bias
    x = _layer_norm(x, f(model.norm.weight), f(model.norm.bias))
    return x if model.out_proj is None else x @ f(model.out_proj.weight)


@pytest.mark.parametrize(
    "config",
    [
        dict(width=32, num_latents=6, depth=1, heads=4, mlp_dim=48),
        dict(width=32, context_dim=20, num_latents=6, depth=1, heads=2, out_dim=24),
        dict(width=16, num_latents=4, depth=2, heads=2),
    ],
    ids=["one-layer", "one-layer-projections", "two-layers"],
)
def test_matches_handwritten_reference(key, config):
    model = perturbed(make(key, **config), jr.key(1))
    Dc = config.get("context_dim", config["width"])
    tokens = jr.normal(jr.key(2), (2, 11, Dc))
    mask = jnp.arange(11)[None, :] < jnp.array([[11], [5]])
    got = run(model, tokens, mask)["tokens"]
    np.testing.assert_allclose(got, reference(model, tokens, mask), rtol=2e-4, atol=2e-4)


def test_config_errors():
    with pytest.raises(ValueError, match="not divisible by heads"):
        PerceiverResampler.Config(width=30, heads=4)
    with pytest.raises(ValueError, match="extra"):
        PerceiverResampler.Config(width=32, latents=8)


CONFIG = """\
name: image-text-perceiver
dims: {B: 2, T: 8}
batch:
  tokens: {shape: [B, T], dtype: int32}
  image: {shape: [B, 32, 32, 3], dtype: float32}
pathways:
  text:
    type: token_embedding
    config: {vocab_size: 256, width: 64}
    inputs: {tokens: batch.tokens}
  image:
    type: vit_encoder
    config: {image_size: [32, 32], patch: 4, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 48}
    inputs: {images: batch.image}
  resampler:
    type: perceiver_resampler
    config: {width: 64, context_dim: 48, num_latents: 8, depth: 2, heads: 4}
    inputs: {tokens: image.tokens, mask: image.mask}
  fusion:
    type: early_fusion
    config: {width: 64}
    inputs: {prefix: [resampler.tokens], prefix_mask: [resampler.mask], text: text.embeddings, text_mask: text.mask}
  decoder:
    type: gemma_decoder
    config: {width: 64, depth: 1, heads: 2, kv_heads: 1, head_dim: 16, mlp_dim: 128}
    inputs: {x: fusion.x, mask: fusion.mask, positions: fusion.positions}
  lm_head:
    type: lm_head
    config: {vocab_size: 256, width: 64, tied: true}
    inputs: {x: decoder.x, embedding: text.table}
"""


def test_yaml_between_vit_and_early_fusion(tmp_path, key):
    path = tmp_path / "perceiver.yaml"
    path.write_text(CONFIG)
    graph = pathways.validate(path)
    assert graph.nodes["resampler"].plugin == "perceiver"
    assert graph.values["image.tokens"].shape == (2, 64, 48)  # 8x8 patches
    assert graph.values["resampler.tokens"].shape == (2, 8, 64)
    assert graph.values["fusion.x"].shape == (2, 8 + 8, 64)

    model = pathways.build(graph, key)
    batch = {
        "tokens": jr.randint(jr.key(1), (2, 8), 1, 256, dtype=jnp.int32),
        "image": jr.uniform(jr.key(2), (2, 32, 32, 3)),
    }
    out = eqx.filter_jit(lambda m, b: m(b))(model, batch)
    logits = out["lm_head.logits"]
    assert logits.shape == (2, 16, 256) and logits.dtype == jnp.float32
    assert bool(jnp.isfinite(logits).all())
