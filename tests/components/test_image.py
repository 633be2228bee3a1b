"""ViTEncoder: row-major patchify, position embeddings, bidirectional blocks, real-sized input."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from pathways.components import ViTEncoder

# ----------------------------------------------------------------------------- helpers


def f64(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float64)


def random_component(cls, cfg, *, key, rng):
    """`cls(cfg, key=key)` with every float leaf drawn at random (no initialiser compiled)."""
    abstract = eqx.filter_eval_shape(cls, cfg, key=key)

    def fill(leaf):
        if isinstance(leaf, jax.ShapeDtypeStruct):
            scale = 1.0 / math.sqrt(leaf.shape[-2]) if len(leaf.shape) >= 2 else 0.3
            return jnp.asarray(scale * rng.normal(size=leaf.shape), leaf.dtype)
        return leaf

    return jax.tree.map(fill, abstract, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))


@eqx.filter_jit
def apply(module, inputs):
    return module(**inputs)


def identity_blocks(vit: ViTEncoder) -> ViTEncoder:
    """Zero each block's residual branches (attention out-projection, MLP fc2): blocks become identity."""
    layers = vit.blocks.layers
    return eqx.tree_at(
        lambda v: (
            v.blocks.layers.attn.o_proj.weight,
            v.blocks.layers.attn.o_proj.bias,
            v.blocks.layers.mlp.fc2.weight,
            v.blocks.layers.mlp.fc2.bias,
        ),
        vit,
        (
            jnp.zeros_like(layers.attn.o_proj.weight),
            jnp.zeros_like(layers.attn.o_proj.bias),
            jnp.zeros_like(layers.mlp.fc2.weight),
            jnp.zeros_like(layers.mlp.fc2.bias),
        ),
    )


def np_layernorm(x, w, b, eps=1e-6):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def np_patches(images: np.ndarray, p: int) -> np.ndarray:
    """Row-major patches, each flattened (row in patch, column in patch, channel): [B, N, p*p*C]."""
    B, H, W, C = images.shape
    out = []
    for b in range(B):
        rows = []
        for i in range(H // p):
            for j in range(W // p):
                rows.append(images[b, i * p : (i + 1) * p, j * p : (j + 1) * p, :].reshape(-1))
        out.append(np.stack(rows))
    return np.stack(out)


def np_sincos_2d(gh: int, gw: int, dim: int) -> np.ndarray:
    q = dim // 4
    omega = 1.0 / 10_000.0 ** (np.arange(q) / q)
    table = np.zeros((gh * gw, dim))
    for r in range(gh):
        for c in range(gw):
            table[r * gw + c] = np.concatenate([np.sin(c * omega), np.cos(c * omega), np.sin(r * omega), np.cos(r * omega)])
    return table


def np_vit_identity_blocks(vit: ViTEncoder, images: np.ndarray, pos: np.ndarray) -> np.ndarray:
    x = np_patches(images, vit.patch) @ f64(vit.patch_embed.weight) + f64(vit.patch_embed.bias) + pos[None]
    x = np_layernorm(x, f64(vit.norm.weight), f64(vit.norm.bias))
    return x @ f64(vit.proj.weight)


SMALL = dict(image_size=(8, 12), channels=2, patch=4, width=8, depth=1, heads=2, mlp_dim=8, out_dim=5)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


# ----------------------------------------------------------------------------- tests


def test_patches_are_row_major_and_flattened_row_col_channel(key, rng):
    """Blocks made identity, tokens are proj(LN(patch_embed(patch) + pos)) for numpy-extracted patches."""
    cfg = ViTEncoder.Config(**SMALL)
    vit = identity_blocks(random_component(ViTEncoder, cfg, key=key, rng=rng))
    images = rng.normal(size=(2, 8, 12, 2)).astype(np.float32)
    out = apply(vit, {"images": jnp.asarray(images)})
    assert out["tokens"].shape == (2, 6, 5)
    expected = np_vit_identity_blocks(vit, f64(images), f64(vit.position))
    np.testing.assert_allclose(f64(out["tokens"]), expected, rtol=1e-4, atol=1e-4)


def test_a_single_bright_patch_lands_on_its_row_major_token(key, rng):
    """Light up patch (row 1, column 2) of a 2x3 grid: only token 1 * 3 + 2 = 5 differs from a blank image."""
    cfg = ViTEncoder.Config(**SMALL)
    vit = identity_blocks(random_component(ViTEncoder, cfg, key=key, rng=rng))
    blank = np.zeros((1, 8, 12, 2), np.float32)
    lit = blank.copy()
    lit[0, 4:8, 8:12, :] = rng.normal(size=(4, 4, 2))
    diff = np.abs(f64(apply(vit, {"images": jnp.asarray(lit)})["tokens"] - apply(vit, {"images": jnp.asarray(blank)})["tokens"]))
    changed = diff.max(-1)[0] > 1e-5
    np.testing.assert_array_equal(changed, [False, False, False, False, False, True])


def test_sincos2d_position_embedding(key, rng):
    cfg = ViTEncoder.Config(**{**SMALL, "position_embedding": "sincos2d"})
    vit = random_component(ViTEncoder, cfg, key=key, rng=rng)
    assert vit.position is None
    vit = identity_blocks(vit)
    images = rng.normal(size=(2, 8, 12, 2)).astype(np.float32)
    out = apply(vit, {"images": jnp.asarray(images)})
    expected = np_vit_identity_blocks(vit, f64(images), np_sincos_2d(2, 3, 8))
    np.testing.assert_allclose(f64(out["tokens"]), expected, rtol=1e-4, atol=1e-4)


def test_encoder_is_bidirectional_and_batch_independent(key, rng):
    cfg = ViTEncoder.Config(**SMALL)
    vit = random_component(ViTEncoder, cfg, key=key, rng=rng)
    images = rng.normal(size=(2, 8, 12, 2)).astype(np.float32)
    base = f64(apply(vit, {"images": jnp.asarray(images)})["tokens"])
    changed = images.copy()
    changed[0, 4:, 8:, :] += 1.0  # the last patch of image 0
    out = f64(apply(vit, {"images": jnp.asarray(changed)})["tokens"])
    assert np.abs(out[0, 0] - base[0, 0]).max() > 1e-4  # first token sees the last patch
    np.testing.assert_allclose(out[1], base[1], atol=1e-6)  # image 1 untouched


def test_real_sized_image_gives_196_tokens(key):
    cfg = ViTEncoder.Config(image_size=(224, 224), channels=3, patch=16, width=8, depth=1, heads=2, mlp_dim=8, out_dim=4)
    vit = ViTEncoder(cfg, key=key)
    assert vit.grid == (14, 14)
    assert vit.position.shape == (196, 8)
    assert 0.01 < float(jnp.std(vit.position)) < 0.03  # learned positions start at 0.02 * N(0, 1)
    yy, xx = np.meshgrid(np.linspace(-1, 1, 224), np.linspace(-1, 1, 224), indexing="ij")
    img = np.stack([np.sin(3 * xx), np.cos(2 * yy), xx * yy], axis=-1)
    images = jnp.asarray(np.stack([img, img[::-1]]), jnp.float32)  # [2, 224, 224, 3]
    out = apply(vit, {"images": images})
    assert out["tokens"].shape == (2, 196, 4)
    assert out["tokens"].dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(out["tokens"])))
    assert out["mask"].shape == (2, 196) and out["mask"].dtype == jnp.bool_ and bool(jnp.all(out["mask"]))
    assert not np.allclose(f64(out["tokens"][0]), f64(out["tokens"][1]))
    _, ports = ViTEncoder.ports(cfg)
    for name, port in ports.items():
        assert port.match(jax.ShapeDtypeStruct(out[name].shape, out[name].dtype), {}) is None, name


def test_filter_jit_equals_eager(key, rng):
    vit = random_component(ViTEncoder, ViTEncoder.Config(**SMALL), key=key, rng=rng)
    images = jnp.asarray(rng.normal(size=(2, 8, 12, 2)), jnp.float32)
    eager = vit(images=images)
    jitted = apply(vit, {"images": images})
    np.testing.assert_allclose(f64(jitted["tokens"]), f64(eager["tokens"]), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(np.asarray(jitted["mask"]), np.asarray(eager["mask"]))


@pytest.mark.parametrize(
    "overrides",
    [
        {"image_size": (8, 10)},  # 10 not divisible by patch 4
        {"width": 9, "heads": 2},  # width not divisible by heads
        {"width": 6, "heads": 2, "position_embedding": "sincos2d"},  # sincos2d needs width % 4 == 0
    ],
)
def test_config_rejects_inconsistent_shapes(overrides):
    with pytest.raises(pydantic.ValidationError):
        ViTEncoder.Config(**{**SMALL, **overrides})
