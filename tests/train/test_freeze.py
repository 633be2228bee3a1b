"""Fine-tuning one pathway: everything else stays bit-identical and gets no optimizer state or decay."""

from __future__ import annotations

import equinox as eqx
import jax
import numpy as np
import pytest
from safetensors.numpy import load_file
from trainkit import changed, checkpoint_params, cli, same, write_config

from pathways.config import load_config
from pathways.graph import build, random_batch, resolve
from pathways.nn import count_params
from pathways.train import Overrides, fit, list_checkpoints, load, load_into, prepare
from pathways.train._checkpoint import flatten

PATHWAYS = ("text", "image", "decoder")  # the ones with parameters (fusion and the tied lm_head have none)


def optimizer_keys(run) -> list[str]:
    newest = list_checkpoints(run / "checkpoints")[-1]
    return list(load_file(str(newest / "optimizer.safetensors")))


@pytest.mark.parametrize("trained", [("image",), ("image", "decoder")], ids=["one", "two"])
def test_finetune_changes_only_the_named_pathways(capsys, tmp_path, base_run, trained):
    config = write_config(tmp_path)
    flags = [a for name in trained for a in ("--pathway", name)]
    code, out, err = cli(capsys, "finetune", config, *flags, "--from", base_run, "--out", tmp_path / "ft", "--no-progress")
    assert code == 0, err
    before, after = checkpoint_params(base_run), checkpoint_params(tmp_path / "ft")
    for name in PATHWAYS:
        if name in trained:
            assert changed(before, after, f"{name}."), name
        else:
            assert same(before, after, f"{name}."), name
    # Optimizer state exists for the trained pathways' leaves only.
    leaf_keys = [k for k in optimizer_keys(tmp_path / "ft") if ".pathways." in k]
    assert leaf_keys
    assert {k.split(".pathways.", 1)[1].split(".", 1)[0] for k in leaf_keys} == set(trained)
    # The counts table the user sees agrees.
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.split() and line.split()[0] in PATHWAYS}
    for name in PATHWAYS:
        trainable, frozen = (int(x.replace(",", "")) for x in rows[name])
        assert (trainable > 0, frozen == 0) == ((name in trained),) * 2


def test_optimizer_state_and_decay_reach_trainable_leaves_only(tmp_path, base_run):
    config = write_config(tmp_path)
    run, state = prepare(config, Overrides(trainable=["image"]), init_from=str(base_run))
    assert state.step == 0
    trainable, opt_state = state.trainable, state.opt_state
    counts = run.counts(state)
    n_trainable = sum(t for t, _ in counts.values())
    assert n_trainable == counts["image"][0] > 0
    assert n_trainable == count_params(eqx.filter(trainable, eqx.is_inexact_array))
    # adamw's state: (clip state, (ScaleByAdamState(count, mu, nu), ...)); mu and nu mirror the trainable half.
    adam = opt_state[1][0]
    assert count_params(adam.mu) == count_params(adam.nu) == n_trainable
    assert count_params(opt_state) == 2 * n_trainable  # the step counts are ints: nothing else per parameter

    # Decoupled weight decay moves every decayed matrix on every step with lr > 0, gradient or not.
    assert run.train.optimizer.lr > 0 and run.train.optimizer.weight_decay > 0
    result = fit(run, state, tmp_path / "run", progress=False)
    after = flatten(result.state.model.pathways)
    before = load(base_run).params
    assert same(before, after, "text.") and same(before, after, "decoder.")
    assert changed(before, after, "image.")


def test_tied_head_cannot_be_trained_alone(capsys, tmp_path, base_run):
    config = write_config(tmp_path)
    code, out, err = cli(capsys, "finetune", config, "--pathway", "lm_head", "--from", base_run, "--out", tmp_path / "ft", "--no-progress")
    assert code == 2
    assert "Traceback" not in err
    assert "'lm_head' (lm_head) has no parameters of its own: it is tied to 'text''s matrix, so train 'text' instead" in err
    assert not (tmp_path / "ft" / "checkpoints").exists()


def test_training_text_changes_the_tied_head_logits(capsys, tmp_path, base_run):
    config = write_config(tmp_path)
    code, _, err = cli(capsys, "finetune", config, "--pathway", "text", "--from", base_run, "--out", tmp_path / "ft", "--no-progress")
    assert code == 0, err
    before, after = load(base_run), load(tmp_path / "ft")
    assert not any(k.startswith("lm_head.") for k in after.params)  # the tied head stores nothing
    assert changed(before.params, after.params, "text.weight")
    assert same(before.params, after.params, "decoder.") and same(before.params, after.params, "image.")

    graph = resolve(load_config(config))
    fresh = build(graph, jax.random.key(1))
    batch = random_batch(graph, jax.random.key(2))
    forward = eqx.filter_jit(lambda model, batch: model(batch)["lm_head.logits"])
    logits = {}
    for name, c in (("base", before), ("tuned", after)):
        model, _ = load_into(fresh, c.params, set())
        logits[name] = np.asarray(forward(model, batch))
    assert not np.allclose(logits["base"], logits["tuned"])
    # Only the embedding matrix differs, so the head's logits moved because it reads that matrix.
    swapped, _ = load_into(fresh, {**before.params, "text.weight": after.params["text.weight"]}, set())
    np.testing.assert_array_equal(np.asarray(forward(swapped, batch)), logits["tuned"])
