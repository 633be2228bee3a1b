"""The training state and the named steps that make it (load, select, shard, init, restore), each on its own."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
import pytest
from trainkit import write_config

from pathways.config import AdapterSpec, load_config
from pathways.graph import build, random_batch, resolve
from pathways.nn import count_params
from pathways.train import Selection, init_state, load, load_weights, make_optimizer, restore, select, shard
from pathways.train._checkpoint import flatten


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return resolve(load_config(write_config(tmp_path_factory.mktemp("state"))))


def training(state) -> set[str]:
    return {n for n, p in state.trainable.pathways.items() if count_params(p)}


def test_init_splits_by_the_selection_once_and_starts_at_zero(graph):
    model = build(graph, jax.random.key(0))
    model, spec = select(model, Selection(("image",)), key=jax.random.key(1))
    state = init_state(model, spec, make_optimizer(graph.loaded.spec.train), seed=3)
    assert (state.step, state.data_position) == (0, 0) and training(state) == {"image"}
    assert eqx.tree_equal(state.model, model)  # the halves combine back into exactly the model
    assert count_params(state.opt_state) == 2 * count_params(eqx.filter(state.trainable, eqx.is_inexact_array))  # adam: mu, nu
    later = state.advanced(state.trainable, state.opt_state, batches=2)
    assert (later.step, later.data_position) == (1, 2) and later.frozen is state.frozen
    assert shard(state, None, []) is state  # no mesh: nothing moves


def test_select_with_an_adapter_wraps_each_named_pathway(graph):
    model = build(graph, jax.random.key(0))
    sel = Selection.from_config(["image", "decoder"], AdapterSpec(type="lora", config={"rank": 2}))
    adapted, spec = select(model, sel, key=jax.random.key(1))
    trains = flatten(eqx.filter(adapted, spec))
    assert trains and all(k.endswith((".lora_a", ".lora_b")) for k in trains)
    assert {k.split(".")[1] for k in trains} == {"image", "decoder"}  # `pathways.<name>. ...`
    batch = random_batch(graph, jax.random.key(2))
    np.testing.assert_array_equal(adapted(batch)["lm_head.logits"], model(batch)["lm_head.logits"])  # B = 0: unchanged at first
    assert sel.adapter_record == {"type": "lora", "config": {"rank": 2, "alpha": 16.0}}


def test_restore_takes_step_position_and_optimizer_state_from_the_checkpoint(graph, base_run):
    c = load(base_run)
    model, notes = load_weights(build(graph, jax.random.key(0)), c, fresh_ok=set())
    assert notes == [] and all(np.array_equal(v, c.params[k]) for k, v in flatten(model.pathways).items())
    model, spec = select(model, Selection(), key=jax.random.key(1))
    fresh = init_state(model, spec, make_optimizer(graph.loaded.spec.train), seed=0)
    state = restore(fresh, c, adapter=False, grad_accum=1)
    assert (state.step, state.data_position) == (c.state.step, c.state.data_position) and c.state.step > 0
    saved = c.optimizer_state()
    assert sorted(flatten(state.opt_state)) == sorted(saved)
    assert all(np.array_equal(v, saved[k]) for k, v in flatten(state.opt_state).items())
    assert state.trainable is fresh.trainable  # whole-model weights come in through load_weights, not here
