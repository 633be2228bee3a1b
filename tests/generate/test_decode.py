"""KV-cache decoding gives exactly the tokens of full recomputation, for every fusion style."""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import pathways
from pathways.generate import GenerateError, Generator, Sampling, decode_route, sample
from pathways.graph import random_batch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def generator(name: str, **tweaks) -> Generator:
    graph = pathways.validate(EXAMPLES / name)
    model = pathways.build(graph, jax.random.key(1))
    # Open the late-fusion gates so cross-attention really contributes.
    model = jax.tree.map(lambda x: x + 0.5 if getattr(x, "shape", None) == () and x.dtype == jnp.float32 else x, model)
    from pathways.data import ByteTokenizer

    return Generator(model, graph, graph.tokenizer or ByteTokenizer())


def media(gen: Generator, n: int) -> dict:
    """Random arrays for every modality the model reads, one per prompt."""
    batch = random_batch(gen.graph, jax.random.key(2))
    rows = lambda field: [np.asarray(batch[field][i % batch[field].shape[0]]) for i in range(n)]  # noqa: E731
    return {"media": {m.modality: rows(field) for field, m in gen.media.items()}}


PROMPTS = ["The cat", "A much longer prompt than the first one", "x"]


@pytest.mark.parametrize("example", ["text_lm_bytes", "digits.yaml", "late_fusion_bytes", "audio_text_bytes"])
def test_cached_greedy_equals_full_recomputation(example, tmp_path):
    if example.endswith("_bytes"):  # the shape examples, with the byte tokenizer and its vocabulary
        src = (EXAMPLES / (example.removesuffix("_bytes") + ".yaml")).read_text().replace("vocab_size: 4096", "vocab_size: 259")
        (tmp_path / "c.yaml").write_text("tokenizer: bytes\n" + src.replace("T: 32}", "T: 64}"))
        graph = pathways.validate(tmp_path / "c.yaml")
        model = pathways.build(graph, jax.random.key(1))
        model = jax.tree.map(lambda x: x + 0.5 if getattr(x, "shape", None) == () and x.dtype == jnp.float32 else x, model)
        gen = Generator(model, graph, graph.tokenizer)
        prompts = PROMPTS
    else:
        gen = generator(example)
        prompts = ["a", "a handwritten"]
    n = 8 if gen.context >= 48 else 4
    kw = media(gen, len(prompts))
    cached = gen.generate(prompts, max_new_tokens=n, **kw)
    full = gen.generate(prompts, max_new_tokens=n, use_cache=False, **kw)
    assert [g.tokens for g in cached] == [g.tokens for g in full]
    assert all(len(g.tokens) > 0 for g in cached)


def test_batched_rows_decode_as_they_would_alone():
    gen = generator("digits.yaml")
    from pathways.data.digits import Digits

    recs = [Digits(Digits.Config(split="test"))[i] for i in range(2)]
    both = gen.generate(["a", "a hand"], images=[r["image"] for r in recs], max_new_tokens=4)
    alone = [gen.generate([p], images=[r["image"]], max_new_tokens=4)[0] for p, r in zip(["a", "a hand"], recs)]
    assert [g.tokens for g in both] == [g.tokens for g in alone]


def test_plan_finds_the_token_path():
    route = decode_route(pathways.validate(EXAMPLES / "late_fusion.yaml"))
    assert (route.tokens, route.text, route.fusion, route.fusion_type, route.decoder, route.head) == (
        "tokens", "text", "fusion", "late_fusion", "decoder", "lm_head"
    )
    assert decode_route(pathways.validate(EXAMPLES / "image_text.yaml")).fusion_type == "early_fusion"


def test_bad_requests_are_clear_errors():
    gen = generator("digits.yaml")
    with pytest.raises(GenerateError, match="must be at least 1"):
        gen.generate(["a"], images=[np.zeros((8, 8, 1))], max_new_tokens=0)
    with pytest.raises(GenerateError, match="exceed the model's context of 16"):
        gen.generate(["a very long prompt indeed, far too long"], images=[np.zeros((8, 8, 1))], max_new_tokens=4)
    with pytest.raises(GenerateError, match=r"this model reads an image \(batch.image\): give --input image=FILE"):
        gen.generate(["a"], max_new_tokens=2)
    with pytest.raises(GenerateError, match="this model has no audio input"):
        gen.generate(["a"], images=[np.zeros((8, 8, 1))], audio=[np.zeros(16000)], max_new_tokens=2)


def test_sampling_rules():
    logits = jnp.log(jnp.array([[0.5, 0.3, 0.15, 0.05]]))
    keys = jax.random.split(jax.random.key(0), 400)
    draw = lambda s: np.array([int(sample(logits, k, s)[0]) for k in keys])  # noqa: E731
    assert int(sample(logits, keys[0], Sampling())[0]) == 0  # greedy
    assert set(draw(Sampling(1.0, top_k=2))) == {0, 1}
    assert set(draw(Sampling(1.0, top_p=0.7))) == {0, 1}  # 0.5 + 0.3 reaches 0.7
    assert set(draw(Sampling(1.0, top_p=0.5))) == {0}
    assert len(set(draw(Sampling(1.0)))) == 4
    with pytest.raises(ValueError):
        Sampling(-1.0)


def test_batch_fields_only_a_loss_reads_are_not_needed():
    """examples/spoken_numbers.yaml declares `label` for its classification loss: generation must not ask for it."""
    gen = generator("spoken_numbers.yaml")
    assert "label" in gen.graph.batch
    out = gen.generate(["a"], audio=[np.zeros(16000, np.float32)], max_new_tokens=2)
    assert len(out) == 1  # before the fix: GenerateError "the model needs batch.label"


@pytest.mark.parametrize("family", ["gemma2", "gemma3"])
def test_cached_greedy_equals_full_recomputation_with_local_layers(family, tmp_path):
    """Sliding-window layers in the cache see what they see uncached: prompts and outputs longer than the window."""
    extra = {
        "gemma2": "attention_pattern: [local, global], sliding_window: 3, attn_logit_softcap: 5.0, post_norms: true, query_pre_attn_scalar: 24",
        "gemma3": "attention_pattern: [local, local, global], sliding_window: 4, qk_norm: true, post_norms: true, rope_local_base: 100.0, rope_global_scaling: 4.0",
    }[family]
    src = local_lm_source(extra)
    model, graph, gen = local_lm(tmp_path, src.replace("tied: true}", "tied: true, softcap: 3.0}"))
    cached = gen.generate(PROMPTS, max_new_tokens=8)
    full = gen.generate(PROMPTS, max_new_tokens=8, use_cache=False)
    assert [g.tokens for g in cached] == [g.tokens for g in full]
    # The window matters: the same weights with every layer global decode otherwise.
    everywhere = src.replace(extra, extra.replace("local, ", "global, ").replace(", sliding_window: 3", "").replace(", sliding_window: 4", ""))
    (tmp_path / "g.yaml").write_text("tokenizer: bytes\n" + everywhere.replace("tied: true}", "tied: true, softcap: 3.0}"))
    graph_g = pathways.validate(tmp_path / "g.yaml")
    params_g, static_g = eqx.partition(pathways.build(graph_g, jax.random.key(1)), eqx.is_array)
    same_weights = eqx.combine(jax.tree.unflatten(jax.tree.structure(params_g), jax.tree.leaves(eqx.filter(model, eqx.is_array))), static_g)
    other = Generator(same_weights, graph_g, graph_g.tokenizer)
    assert [g.tokens for g in other.generate(PROMPTS, max_new_tokens=8)] != [g.tokens for g in cached]


def local_lm_source(extra: str) -> str:
    """examples/text_lm.yaml with a byte vocabulary and the decoder options `extra`."""
    return (EXAMPLES / "text_lm.yaml").read_text().replace("vocab_size: 4096", "vocab_size: 259").replace("mlp_dim: 512}", f"mlp_dim: 512, {extra}}}")


def local_lm(tmp_path, src: str):
    """(model, graph, generator) of config text `src`, norm scales moved off zero."""
    (tmp_path / "c.yaml").write_text("tokenizer: bytes\n" + src)
    graph = pathways.validate(tmp_path / "c.yaml")
    model = pathways.build(graph, jax.random.key(1))
    model = jax.tree.map(lambda x: x + 0.3 * jax.random.normal(jax.random.key(2), x.shape) if eqx_is_norm(x) else x, model)
    return model, graph, Generator(model, graph, graph.tokenizer)


def eqx_is_norm(x) -> bool:
    """Norm scales (1-D, start at 0): moved off zero so that a `w` vs `1 + w` slip would show."""
    return getattr(x, "ndim", None) in (1, 2) and getattr(x, "dtype", None) == jnp.float32 and not np.any(np.asarray(x))


def test_local_layers_cache_only_their_window(tmp_path):
    """A local layer's cache is a ring of `sliding_window` slots; global layers keep the whole sequence."""
    extra = "attention_pattern: [local, global], sliding_window: 3, post_norms: true"
    src = (EXAMPLES / "text_lm.yaml").read_text().replace("vocab_size: 4096", "vocab_size: 259").replace("mlp_dim: 512}", f"mlp_dim: 512, {extra}}}")
    (tmp_path / "c.yaml").write_text("tokenizer: bytes\n" + src)
    graph = pathways.validate(tmp_path / "c.yaml")
    decoder = pathways.build(graph, jax.random.key(1)).pathways["decoder"]
    x = jax.random.normal(jax.random.key(0), (2, 5, decoder.final_norm.weight.shape[0]))
    _, cache = decoder.prefill(cache_len=12, x=x)
    assert [k.shape[1] for k, _ in cache["kv"]] == [3 if local else 12 for local in decoder.layer_local]
    assert cache["ring_positions"].shape == (2, 3) and bool(cache["ring_valid"].all())
    # slot p % 3 holds position p, for the last 3 positions 2, 3, 4
    np.testing.assert_array_equal(cache["ring_positions"], [[3, 4, 2], [3, 4, 2]])
    _, plain = pathways.build(pathways.validate(EXAMPLES / "text_lm.yaml"), jax.random.key(1)).pathways["decoder"].prefill(cache_len=12, x=jnp.zeros((2, 5, 128)))
    assert "ring_positions" not in plain  # no local layers, no ring


def test_local_layers_decode_as_the_full_pass_with_padding_inside_the_prompt(key):
    """Keys hidden by token_mask take no ring slot: the window still holds the last real positions."""
    from pathways.components import GemmaDecoder

    cfg = GemmaDecoder.Config(width=16, depth=2, heads=2, kv_heads=1, head_dim=8, mlp_dim=32, attention_pattern=["local"], sliding_window=3)
    dec = GemmaDecoder(cfg, key=key)
    dec = jax.tree.map(lambda a: a + 0.3 * jax.random.normal(jax.random.key(5), a.shape) if eqx_is_norm(a) else a, dec)
    x = jax.random.normal(jax.random.key(1), (1, 8, 16))
    real = jnp.array([[True, False, False, False, True, True, False, True]])  # padding inside the prompt
    positions = jnp.maximum(jnp.cumsum(real, axis=1) - 1, 0).astype(jnp.int32)
    full = dec(x=x, token_mask=real, positions=positions)["x"]
    # the prompt is the first 7 slots; slot 7 (position 3) is decoded one token at a time
    _, cache = dec.prefill(cache_len=8, x=x[:, :7], token_mask=real[:, :7], positions=positions[:, :7])
    valid = jnp.pad(real[:, :7], [(0, 0), (0, 1)]).at[:, 7].set(True)
    out, _ = dec.decode(x=x[:, 7:], cache=cache, valid=valid, index=jnp.array([7]), position=jnp.array([3]))
    np.testing.assert_allclose(out[:, 0], full[:, 7], atol=1e-5)


def test_a_local_decoder_wired_without_token_mask_decodes_padded_prompts_as_uncached(tmp_path):
    """Generation tells the decoder which prompt keys are real, so right padding takes no ring slot."""
    src = local_lm_source("attention_pattern: [local, global], sliding_window: 3, post_norms: true")
    _, _, gen = local_lm(tmp_path, src.replace(", token_mask: text.mask", ""))
    assert [g.tokens for g in gen.generate(PROMPTS, max_new_tokens=8)] == [g.tokens for g in gen.generate(PROMPTS, max_new_tokens=8, use_cache=False)]
