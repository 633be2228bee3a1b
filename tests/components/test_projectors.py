"""The connector pathways: PaliGemma's linear projector and Gemma 3's pooling projector."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pydantic
import pytest

from pathways.components import LinearProjector, PoolingProjector


def test_pooling_projector_averages_square_windows_then_normalises_and_projects(key):
    proj = PoolingProjector(PoolingProjector.Config(in_dim=3, out_dim=5, input_tokens=16, output_tokens=4), key=key)
    proj = jax.tree.map(lambda a: a + 0.5 if a.ndim == 1 else a, proj)  # norm scale off zero
    tokens = jax.random.normal(jax.random.key(3), (2, 16, 3))
    got = np.asarray(proj(tokens=tokens)["tokens"])
    grid = np.asarray(tokens, np.float64).reshape(2, 4, 4, 3)
    want = np.zeros((2, 4, 5))
    for b in range(2):
        for i in range(2):
            for j in range(2):
                mean = grid[b, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].mean(axis=(0, 1))
                normed = mean / np.sqrt(np.mean(mean**2) + 1e-6) * (1 + np.asarray(proj.norm.weight))
                want[b, 2 * i + j] = normed @ np.asarray(proj.proj.weight)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_linear_projector_keeps_the_mask(key):
    proj = LinearProjector(LinearProjector.Config(in_dim=3, out_dim=5), key=key)
    mask = jnp.array([[True, False]])
    out = proj(tokens=jnp.ones((1, 2, 3)), mask=mask)
    assert out["tokens"].shape == (1, 2, 5) and out["mask"] is mask


@pytest.mark.parametrize("tokens, message", [(15, "not a square number"), (16, "does not pool evenly")])
def test_pooling_projector_refuses_grids_it_cannot_pool(tokens, message):
    with pytest.raises(pydantic.ValidationError, match=message):
        PoolingProjector.Config(in_dim=3, out_dim=5, input_tokens=tokens, output_tokens=9)
