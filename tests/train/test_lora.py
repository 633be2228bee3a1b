"""LoRA fine-tuning: only adapters train and are saved; merging gives a plain checkpoint with the same outputs."""

from __future__ import annotations

import json

import equinox as eqx
import jax
import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file
from trainkit import cli, write_config

import pathways
from pathways._errors import ConfigDeprecationWarning
from pathways.config import load_config
from pathways.graph import build, random_batch, resolve
from pathways.train import list_checkpoints, load, load_into
from pathways.train._checkpoint import model_params
from pathways.train._load import load_adapted_model

LORA_TRAIN = {"optimizer": {"lr": 0.05, "weight_decay": 0.0}}  # a large lr, so that the adapters move visibly in 4 steps


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, base_run):
    from pathways.cli import main

    root = tmp_path_factory.mktemp("lora")
    config = write_config(root, **LORA_TRAIN)
    code = main(["finetune", str(config), "--pathway", "decoder", "--lora-rank", "4", "--from", str(base_run), "--out", str(root / "run"), "--no-progress"])
    assert code == 0
    return root / "run"


def test_lora_trains_and_saves_only_adapters(lora_run, base_run):
    newest = list_checkpoints(lora_run / "checkpoints")[-1]
    saved = load_file(str(newest / "model.safetensors"))
    assert saved and all(k.startswith("decoder.") and k.endswith((".lora_a", ".lora_b")) for k in saved)
    assert {k.rsplit(".", 1)[1] for k in saved} == {"lora_a", "lora_b"}
    assert any(np.abs(v).max() > 0 for k, v in saved.items() if k.endswith("lora_b"))  # B starts at zero: it trained
    opt_leaves = [k for k in load_file(str(newest / "optimizer.safetensors")) if ".pathways." in k]
    assert opt_leaves and all(k.endswith((".lora_a", ".lora_b")) for k in opt_leaves)
    state = json.loads((newest / "state.json").read_text())
    assert state["adapter"] == {"type": "lora", "config": {"rank": 4, "alpha": 16.0}, "pathways": ["decoder"]}
    assert state["base_checkpoint"] == str(list_checkpoints(base_run / "checkpoints")[-1])
    saved = yaml.safe_load((newest / "config.yaml").read_text())["train"]  # as validated: the default alpha is written out
    assert saved["trainable"] == ["decoder"] and saved["adapter"] == {"type": "lora", "config": {"rank": 4, "alpha": 16.0}}

    # The adapted model is the untouched base plus the adapters.
    model, _, _ = load_adapted_model(lora_run)
    flat = model_params(model)
    base = load(base_run).params
    for k, v in base.items():
        key = k.replace(".weight", ".base.weight") if k.startswith("decoder.") and "norm" not in k else k
        assert np.array_equal(flat[key], v), k


def test_lora_checkpoint_cannot_seed_a_finetune_unmerged(capsys, tmp_path, lora_run):
    code, _, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "image", "--from", lora_run, "--out", tmp_path / "ft")
    assert code == 2
    assert "holds adapters only: merge it first" in err


def test_lora_merge_gives_the_same_logits(capsys, tmp_path, lora_run, base_run):
    code, out, err = cli(capsys, "lora-merge", lora_run, "--out", tmp_path / "merged")
    assert code == 0, err
    merged = load(tmp_path / "merged")
    assert not any("lora" in k for k in merged.params)
    assert merged.state.adapter is None

    adapted, _, _ = load_adapted_model(lora_run)
    graph = resolve(load_config(tmp_path / "merged" / "config.yaml"))
    plain, notes = load_into(build(graph, jax.random.key(3)), merged.params, set())
    assert notes == []
    base = load(base_run).params
    assert not np.array_equal(merged.params["decoder.blocks.layers.attn.q_proj.weight"], base["decoder.blocks.layers.attn.q_proj.weight"])

    batch = random_batch(graph, jax.random.key(4))
    forward = eqx.filter_jit(lambda model, batch: model(batch)["lm_head.logits"])
    want, got = np.asarray(forward(adapted, batch)), np.asarray(forward(plain, batch))
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
    # The adapters matter: the base model alone gives other logits.
    base_model, _ = load_into(build(graph, jax.random.key(3)), base, set())
    assert not np.allclose(np.asarray(forward(base_model, batch)), want, atol=1e-3)


def test_lora_resume_continues_exactly(capsys, tmp_path, lora_run, base_run):
    config = write_config(tmp_path, **LORA_TRAIN)
    args = ("finetune", config, "--pathway", "decoder", "--lora-rank", 4, "--from", base_run, "--out", tmp_path / "run", "--no-progress")
    assert cli(capsys, *args, "--steps", 2)[0] == 0
    code, _, err = cli(capsys, *args, "--resume")
    assert code == 0, err
    want = load_file(str(list_checkpoints(lora_run / "checkpoints")[-1] / "model.safetensors"))
    got = load_file(str(list_checkpoints(tmp_path / "run" / "checkpoints")[-1] / "model.safetensors"))
    assert sorted(got) == sorted(want)
    assert all(np.array_equal(got[k], want[k]) for k in want)


def test_pathways_load_gives_the_adapted_model(lora_run):
    model = pathways.load(lora_run)
    adapted, _, _ = load_adapted_model(lora_run)
    assert eqx.tree_equal(eqx.filter(model.pathways, eqx.is_array), eqx.filter(adapted.pathways, eqx.is_array))
    assert any("lora_b" in k for k in model_params(model))


@pytest.mark.filterwarnings("always::pathways._errors.ConfigDeprecationWarning")
def test_what_trains_is_said_once(capsys, tmp_path, base_run):
    """`train.trainable` says which pathways train, `train.adapter` how; the old `train.lora` still loads, with one warning line."""
    text = write_config(tmp_path).read_text()
    both = tmp_path / "both.yaml"
    both.write_text(text.replace("  steps: 4\n", "  steps: 4\n  trainable: [image]\n  lora: {pathway: decoder, rank: 4}\n"))
    code, _, err = cli(capsys, "validate", both)
    assert code == 2 and err.strip().endswith(
        "train: train.trainable ['image'] conflicts with train.lora.pathway 'decoder': with LoRA only the adapters on "
        "train.lora.pathway train; drop train.trainable (or make it [decoder])"
    )
    two_adapters = tmp_path / "two.yaml"
    two_adapters.write_text(text.replace("  steps: 4\n", "  steps: 4\n  adapter: {type: lora}\n  lora: {pathway: decoder, rank: 4}\n"))
    code, _, err = cli(capsys, "validate", two_adapters)
    assert code == 2 and err.strip().endswith("train: train.lora conflicts with train.adapter 'lora': give one (train.lora is deprecated; keep train.adapter)")
    code, _, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "decoder", "--adapter", "ia3", "--lora-rank", 4, "--from", base_run, "--out", tmp_path / "ft")
    assert code == 2 and err.strip() == "error: --lora-rank: sets the rank of a 'lora' adapter, but --adapter is 'ia3': drop one of them"
    code, _, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "decoder", "--adapter", "loar", "--from", base_run, "--out", tmp_path / "ft")
    assert code == 2 and err.strip().startswith("error: --adapter: unknown adapter type 'loar'; did you mean 'lora'?")
    code, _, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "decoder", "--lora-rank", 4, "--adapter-config", "rnak=2", "--from", base_run, "--out", tmp_path / "ft")
    assert code == 2 and err.strip().startswith("error: --adapter-config.rnak: unknown field 'rnak'; did you mean 'rank'?")

    old = tmp_path / "old.yaml"  # the spelling before adapters were chosen by type: still loads, said once
    old.write_text(text.replace("  steps: 4\n", "  steps: 4\n  trainable: [decoder]\n  lora: {pathway: decoder, rank: 4}\n"))
    code, _, err = cli(capsys, "validate", old)
    line = next(i for i, l in enumerate(old.read_text().splitlines(), 1) if l.strip().startswith("lora:"))
    assert code == 0 and err.strip() == (
        f"warning: {old}:{line}:3: train.lora: is deprecated: write train.trainable: [decoder] with train.adapter: {{type: lora, config: {{rank: 4, alpha: 16.0}}}}"
    )
    with pytest.warns(ConfigDeprecationWarning, match="train.lora: is deprecated"):
        spec = load_config(old).spec.train
    assert spec.trainable == ["decoder"] and spec.adapter.type == "lora" and spec.adapter.config == {"rank": 4, "alpha": 16.0} and spec.lora is None
    assert not (tmp_path / "ft").exists()


def test_validate_checks_what_trains_and_the_adapter(capsys, tmp_path):
    text = write_config(tmp_path).read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("  steps: 4\n", "  steps: 4\n  trainable: [decodr]\n  adapter: {type: loar, config: {rank: 2}}\n"))
    code, _, err = cli(capsys, "validate", bad)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2, err
    assert lines[0].endswith("train.trainable.0: 'decodr' is not a pathway of this config; did you mean 'decoder'? (pathways: decoder, fusion, image, lm_head, text)")
    assert ":" in lines[1] and "train.adapter.type: unknown adapter type 'loar'; did you mean 'lora'? (registered: lora" in lines[1]
    assert lines[1].startswith(f"error: {bad}:")


def test_an_adapter_without_a_base_is_refused(capsys, tmp_path):
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace("  steps: 4\n", "  steps: 4\n  trainable: [decoder]\n  adapter: {type: lora}\n"))
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "run")
    assert code == 2 and err.strip().endswith(
        "train.adapter: an adapter ('lora') trains around a base model's weights: start from one with `pathways finetune --from CKPT`"
    )
    assert not (tmp_path / "run").exists()
