"""The composed model: same numbers and same program as the components called by hand."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pathways
from pathways.components import EarlyFusion, GemmaDecoder, LMHead, TokenEmbedding, ViTEncoder
from pathways.graph import node_key, random_batch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.name)
def test_every_example_validates_and_runs_forward(path):
    graph = pathways.validate(path)
    model = pathways.build(graph, jax.random.key(0))
    out = eqx.filter_jit(lambda m, b: m(b))(model, random_batch(graph, jax.random.key(1)))
    assert set(out) == set(graph.outputs) and out
    for name, value in out.items():
        assert value.shape == graph.values[name].shape
        assert bool(jnp.all(jnp.isfinite(value))), name


def _hand_written(key, batch):
    """The image+text example, composed by hand from the component classes."""
    cfg = lambda cls, **kw: cls.Config(**kw)  # noqa: E731
    text = TokenEmbedding(cfg(TokenEmbedding, vocab_size=4096, width=128), key=node_key(key, "text"))
    image = ViTEncoder(
        cfg(ViTEncoder, image_size=(32, 32), channels=3, patch=8, width=96, depth=2, heads=4, mlp_dim=256, out_dim=128),
        key=node_key(key, "image"),
    )
    fusion = EarlyFusion(cfg(EarlyFusion, width=128), key=node_key(key, "fusion"))
    decoder = GemmaDecoder(
        cfg(GemmaDecoder, width=128, depth=4, heads=4, kv_heads=1, head_dim=32, mlp_dim=512), key=node_key(key, "decoder")
    )
    head = LMHead(cfg(LMHead, vocab_size=4096, width=128, tied=True), key=node_key(key, "lm_head"))

    def forward(batch):
        t = text(tokens=batch["tokens"])
        i = image(images=batch["image"])
        f = fusion(prefix=(i["tokens"],), prefix_mask=(i["mask"],), text=t["embeddings"], text_mask=t["mask"])
        d = decoder(x=f["x"], mask=f["mask"], positions=f["positions"])
        return head(x=d["x"], embedding=t["table"])["logits"]

    return forward


def test_yaml_model_matches_hand_written_composition():
    key = jax.random.key(3)
    graph = pathways.validate(EXAMPLES / "image_text.yaml")
    model = pathways.build(graph, key)
    batch = random_batch(graph, jax.random.key(4))
    got = model(batch)["lm_head.logits"]
    want = _hand_written(key, batch)(batch)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_composed_model_traces_to_the_hand_written_program():
    key = jax.random.key(3)
    graph = pathways.validate(EXAMPLES / "image_text.yaml")
    model = pathways.build(graph, key)
    batch = random_batch(graph, jax.random.key(4))
    forward = _hand_written(key, batch)
    composed = jax.make_jaxpr(lambda b: model(b)["lm_head.logits"])(batch)
    by_hand = jax.make_jaxpr(forward)(batch)
    # Same primitives in the same order: the graph adds no work of its own.
    prims = lambda jaxpr: [e.primitive.name for e in jaxpr.jaxpr.eqns]  # noqa: E731
    assert prims(composed) == prims(by_hand)
    flops = lambda f: jax.jit(f).lower(batch).compile().cost_analysis()["flops"]  # noqa: E731
    assert flops(lambda b: model(b)["lm_head.logits"]) == flops(forward)


def test_graph_is_a_pytree_of_pathways_and_jits_whole():
    graph = pathways.validate(EXAMPLES / "two_heads.yaml")
    model = pathways.build(graph, jax.random.key(0))
    assert set(model.pathways) == {"text", "image", "fusion", "decoder", "lm_head", "classifier"}
    leaves = jax.tree_util.tree_leaves_with_path(eqx.filter(model, eqx.is_array))
    assert all(jax.tree_util.keystr(p).startswith(".pathways[") for p, _ in leaves)
    out = eqx.filter_jit(lambda m, b: m(b))(model, random_batch(graph, jax.random.key(0)))
    assert out["classifier.logits"].shape == (4, 10)


def test_node_init_depends_only_on_its_name():
    a = pathways.build(pathways.validate(EXAMPLES / "image_text.yaml"), jax.random.key(0))
    b = pathways.build(pathways.validate(EXAMPLES / "two_heads.yaml"), jax.random.key(0))
    for name in a.pathways:
        for x, y in zip(jax.tree.leaves(a.pathways[name]), jax.tree.leaves(b.pathways[name])):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
