"""`pathways.load(CKPT)`: the public way to get a trained model back, weights and config included."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from trainkit import checkpoint_params

import pathways
from pathways.graph import random_batch
from pathways.train import CheckpointError, list_checkpoints


def test_load_gives_the_trained_model_with_its_config(base_run):
    model = pathways.load(base_run)  # a run directory: its newest checkpoint
    saved = checkpoint_params(base_run)
    flat = {pathways.graph.param_key(p).removeprefix("pathways."): np.asarray(x) for p, x in jax.tree_util.tree_flatten_with_path(model.pathways)[0] if hasattr(x, "shape")}
    assert flat.keys() == saved.keys() and all(np.array_equal(flat[k], saved[k]) for k in saved)
    assert model.config.name == "tiny-digits" and model.graph.tokenizer is not None
    out = model(random_batch(model.graph, jax.random.key(0)))
    assert set(out) == {"lm_head.logits"} and out["lm_head.logits"].shape == (8, 28, 259)  # keyed pathway.port
    newest = list_checkpoints(base_run / "checkpoints")[-1]
    assert np.array_equal(np.asarray(pathways.load(newest).pathways["text"].weight), saved["text.weight"])


def test_load_of_something_that_is_not_a_checkpoint_says_so(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        pathways.load(tmp_path)
