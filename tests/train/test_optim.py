"""Optimisation: which leaves decay, the learning-rate schedule, gradient accumulation, bf16 compute."""

from __future__ import annotations

import math
import re

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from trainkit import TINY_TEXT_LM, write_config

from pathways.adapters.lora import LoRA
from pathways.components.decoder import GemmaDecoder
from pathways.components.fusion import LateFusion
from pathways.components.image import ViTEncoder
from pathways.config import load_config
from pathways.config._schema import LossSpec, TrainSpec
from pathways.data import Batcher, ByteTokenizer
from pathways.data.digits import Digits
from pathways.graph import build, resolve
from pathways.graph import param_key as _key
from pathways.train import decay_mask, fit, learning_rate, make_loss_fn, make_train_step, prepare

LOSSES = [LossSpec(type="next_token", logits="lm_head.logits", targets="batch.tokens")]


def mask_by_name(tree) -> dict[str, bool]:
    leaves = jax.tree_util.tree_flatten_with_path(decay_mask(eqx.filter(tree, eqx.is_inexact_array)))[0]
    return {_key(path): leaf for path, leaf in leaves}


def test_decay_mask_matrices_only():
    # Sizes as in the tiny digits config, so that most initialisers are already compiled.
    decoder_cfg = GemmaDecoder.Config(width=32, depth=1, heads=2, kv_heads=1, head_dim=16, mlp_dim=64, cross_attention_every=1, context_dim=32)
    key = jax.random.key(0)
    tree = {
        "decoder": GemmaDecoder(decoder_cfg, key=key),  # stacked blocks [L, ...] and stacked gated cross-attention
        "fusion": LateFusion(LateFusion.Config(width=32, heads=2, head_dim=16), key=key),  # scalar gates
        "image": ViTEncoder(ViTEncoder.Config(image_size=[8, 8], patch=4, width=32, depth=1, heads=2, mlp_dim=64, out_dim=32), key=key),
    }
    tree["lora"] = LoRA.apply(tree["decoder"], LoRA.Config(rank=2, alpha=4.0), key=key)
    mask = mask_by_name(tree)
    decayed = sorted(k for k, v in mask.items() if v)
    kept = sorted(k for k, v in mask.items() if not v)
    # Spot checks, including a stacked matrix [L, in, out], a stacked bias [L, out] and stacked gates [L].
    assert tree["decoder"].blocks.layers.attn.q_proj.weight.ndim == 3
    assert "decoder.blocks.layers.attn.q_proj.weight" in decayed
    assert "lora.blocks.layers.attn.q_proj.lora_a" in decayed and "lora.blocks.layers.attn.q_proj.base.weight" in decayed
    assert tree["image"].blocks.layers.mlp.fc1.bias.ndim == 2  # [L, out]
    assert "image.blocks.layers.mlp.fc1.bias" in kept
    assert tree["decoder"].cross.layers.attn_gate.ndim == 1  # [L]
    assert {"decoder.cross.layers.attn_gate", "decoder.cross.layers.mlp_gate", "fusion.block.attn_gate", "fusion.block.mlp_gate"} <= set(kept)
    assert {"decoder.blocks.layers.attn_norm.weight", "decoder.final_norm.weight", "image.norm.bias", "image.patch_embed.bias"} <= set(kept)
    # And the rule everywhere: norms, biases and gates never decay; every projection matrix does.
    for k in kept:
        assert re.search(r"norm\d?\.(weight|bias)$|\.bias$|_gate$", k), f"{k} is not decayed"
    for k in decayed:
        assert k.endswith((".weight", ".lora_a", ".lora_b", "position")) and not re.search(r"norm\d?\.weight$", k), f"{k} is decayed"


def spec(**train) -> TrainSpec:
    return TrainSpec(losses=LOSSES, **train)


def test_cosine_schedule_warms_up_peaks_and_ends_at_the_floor():
    s = learning_rate(spec(steps=100, optimizer={"lr": 1e-3}, schedule={"kind": "cosine", "warmup_steps": 10, "min_lr_ratio": 0.1}))
    values = np.array([float(s(i)) for i in range(0, 121)])
    np.testing.assert_allclose(values[[0, 5, 10]], [0.0, 5e-4, 1e-3], rtol=1e-6)
    assert values.max() == pytest.approx(1e-3)
    np.testing.assert_allclose(values[55], 0.5 * (1e-3 + 1e-4), rtol=1e-5)  # half-way down the cosine
    np.testing.assert_allclose(values[100:], 1e-4, rtol=1e-5)  # the floor at `steps` and after
    assert np.all(np.diff(values[10:101]) <= 0) and np.all(np.diff(values[:11]) > 0)


def test_constant_schedule_with_and_without_warmup():
    s = learning_rate(spec(optimizer={"lr": 2e-3}, schedule={"kind": "constant", "warmup_steps": 4}))
    np.testing.assert_allclose([float(s(i)) for i in (0, 2, 4, 50)], [0.0, 1e-3, 2e-3, 2e-3], rtol=1e-6)
    s = learning_rate(spec(optimizer={"lr": 2e-3}, schedule={"kind": "constant"}))
    assert float(s(0)) == float(s(99)) == pytest.approx(2e-3)


@pytest.fixture
def text_lm(tmp_path):
    config = write_config(tmp_path, "text_lm.yaml", base=TINY_TEXT_LM)
    graph = resolve(load_config(config))
    batcher = Batcher(Digits(Digits.Config()), graph.batch, {"tokens": "text"}, ByteTokenizer(), seed=0)
    return config, build(graph, jax.random.key(0)), batcher


def test_grad_accum_averages_micro_batch_gradients(text_lm):
    _, model, batcher = text_lm
    trainable, frozen = eqx.partition(model, eqx.is_inexact_array)
    loss_fn = make_loss_fn(LOSSES)
    grad = eqx.filter_jit(eqx.filter_value_and_grad(lambda t, f, b: loss_fn(t, f, b)[0]))
    micro = [batcher.batch_at(0), batcher.batch_at(1)]
    (l1, g1), (l2, g2) = (grad(trainable, frozen, b) for b in micro)
    assert not np.isclose(float(l1), float(l2))  # two different micro-batches
    # SGD with lr 1 applies minus the (accumulated) gradient, so the update shows the gradient itself.
    expected = jax.tree.map(lambda p, a, b: p - (a + b) / 2, trainable, g1, g2)
    opt = optax.sgd(1.0)
    step = make_train_step(loss_fn, opt, grad_accum=2)
    stacked = {k: np.stack([m[k] for m in micro]) for k in micro[0]}  # [2, B, T]
    new, _, metrics = step(trainable, frozen, opt.init(trainable), stacked)
    for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(expected)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    assert float(metrics["loss"]) == pytest.approx((float(l1) + float(l2)) / 2, rel=1e-6)


def test_run_feeds_consecutive_micro_batches(tmp_path):
    config = write_config(tmp_path, "text_lm.yaml", base=TINY_TEXT_LM, grad_accum=2)
    run, _ = prepare(config)
    batch = run.batch(2)  # step 1 starts at micro-batch 2 (data position = step * grad_accum)
    assert batch["tokens"].shape == (2, 8, 24)
    for i in range(2):
        np.testing.assert_array_equal(batch["tokens"][i], run.batcher.batch_at(2 + i)["tokens"])


def test_bfloat16_compute_keeps_float32_master_weights(tmp_path, text_lm):
    _, model, batcher = text_lm
    trainable, frozen = eqx.partition(model, eqx.is_inexact_array)
    jaxpr = jax.make_jaxpr(make_loss_fn(LOSSES, jnp.bfloat16))(trainable, frozen, batcher.batch_at(0))
    # Every dense layer (a 2-D matmul, nested ones too) runs in bf16; attention scores accumulate in f32 by design.
    dense = re.findall(r":(\w+)\[\d+,\d+\] = dot_general", str(jaxpr))
    assert len(dense) >= 8 and set(dense) == {"bf16"}
    assert {str(v.aval.dtype) for v in jaxpr.jaxpr.invars} == {"float32", "int32"}  # f32 weights in, int tokens
    assert str(jaxpr.jaxpr.outvars[0].aval.dtype) == "float32"  # the loss is reduced in f32

    config = write_config(tmp_path, "bf16.yaml", base=TINY_TEXT_LM, compute_dtype="bfloat16")
    run, state = prepare(config)
    result = fit(run, state, tmp_path / "run", progress=False)
    assert math.isfinite(result.first_loss) and math.isfinite(result.last_loss)
    assert result.last_loss < result.first_loss
    dtypes = {x.dtype for x in jax.tree.leaves(eqx.filter(result.state.trainable, eqx.is_inexact_array))}
    assert dtypes == {jnp.dtype(jnp.float32)}
    assert {x.dtype for x in jax.tree.leaves(result.state.opt_state) if jnp.issubdtype(x.dtype, jnp.floating)} == {jnp.dtype(jnp.float32)}


def test_train_step_leaves_frozen_half_and_batch_usable():
    """Only trainable parameters and optimizer state are donated: a device batch can be reused."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    from pathways.nn import Linear
    from pathways.train import make_train_step

    model = (Linear(3, 2, key=jax.random.key(0)), Linear(2, 1, key=jax.random.key(1)))
    trainable, frozen = eqx.partition(model, (jax.tree.map(eqx.is_array, model[0]), jax.tree.map(lambda _: False, model[1])))
    opt = optax.sgd(0.1)
    opt_state = opt.init(eqx.filter(trainable, eqx.is_inexact_array))

    def loss_fn(t, f, batch):
        a, b = eqx.combine(t, f)
        return jnp.mean(b(a(batch["x"])) ** 2), {}

    step = make_train_step(loss_fn, opt)
    batch = {"x": jnp.ones((4, 3))}
    trainable, opt_state, _ = step(trainable, frozen, opt_state, batch)
    trainable, opt_state, _ = step(trainable, frozen, opt_state, batch)  # same batch and frozen half again
    assert not batch["x"].is_deleted() and not frozen[1].weight.is_deleted()
