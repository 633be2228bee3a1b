"""A third-party adapter is chosen like a component: by its registered type, from YAML or the command line.

The plugin is the worked example of docs/plugins/adapters.md (`output_gain`, one learned gain per
output feature), installed as a package with a `pathways` entry point; nothing in this repo names it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import pytest
from safetensors.numpy import load_file
from trainkit import cli, write_config

import pathways
import pathways.plugins
from pathways.graph import random_batch
from pathways.train import list_checkpoints, load, load_trained
from pathways.train._checkpoint import model_params

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "adapters.md"
TRAIN = {"optimizer": {"lr": 0.05, "weight_decay": 0.0}}  # large enough that the gains move visibly in 4 steps


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The guide's code as an installed distribution `output-gain`, loaded through the real plugin manager."""
    from pathways.plugins import new_plugin_manager

    site = tmp_path_factory.mktemp("site")
    (site / "output_gain").mkdir()
    (site / "output_gain" / "__init__.py").write_text("\n\n".join(re.findall(r"```python\n(.*?)```", GUIDE.read_text(), re.S)))
    info = site / "output_gain-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: output-gain\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pathways]\noutput_gain = output_gain\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(site))
        pm = new_plugin_manager()
        mp.setattr("pathways.plugins._registry.get_plugin_manager", lambda: pm)
        pathways.plugins.adapter_registry.cache_clear()
        assert pathways.plugins.adapter_registry().get("output_gain").plugin == "output_gain"
        yield
    pathways.plugins.adapter_registry.cache_clear()


def with_adapter(path, adapter: str):
    text = path.read_text().replace("  steps: 4\n", f"  steps: 4\n  trainable: [decoder]\n  adapter: {adapter}\n")
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def gain_run(tmp_path_factory, installed, base_run):
    from pathways.cli import main

    root = tmp_path_factory.mktemp("gain")
    config = with_adapter(write_config(root, **TRAIN), "{type: output_gain, config: {min_features: 16}}")
    assert main(["finetune", str(config), "--pathway", "decoder", "--from", str(base_run), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"


def test_selected_from_yaml_it_trains_its_own_parameters_only(gain_run, base_run):
    newest = list_checkpoints(gain_run / "checkpoints")[-1]
    saved = load_file(str(newest / "model.safetensors"))
    assert saved and all(k.startswith("decoder.") and k.endswith(".gain") for k in saved)
    assert any(not np.allclose(v, 1.0) for v in saved.values())  # the gains start at 1: they trained
    opt = [k for k in load_file(str(newest / "optimizer.safetensors")) if ".pathways." in k]
    assert opt and all(k.endswith(".gain") for k in opt)  # no optimizer state for anything else
    state = json.loads((newest / "state.json").read_text())
    assert state["adapter"] == {"type": "output_gain", "config": {"min_features": 16}, "pathways": ["decoder"]}
    losses = [json.loads(line)["loss"] for line in (gain_run / "metrics.jsonl").read_text().splitlines()]
    assert losses[-1] < losses[0]

    # Loaded back through the registry: the base's weights untouched, with the trained gains around them.
    model, c = load_trained(gain_run)
    flat, base = model_params(model), load(base_run).params
    for k, v in base.items():
        wrapped = k.replace(".weight", ".base.weight").replace(".bias", ".base.bias")
        assert np.array_equal(flat[wrapped] if wrapped in flat else flat[k], v), k


def test_the_command_line_selects_it_too_and_trains_the_same(capsys, tmp_path, installed, gain_run, base_run):
    config = write_config(tmp_path, **TRAIN)
    code, _, err = cli(capsys, "finetune", config, "--pathway", "decoder", "--adapter", "output_gain", "--adapter-config", "min_features=16", "--from", base_run, "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    want = load_file(str(list_checkpoints(gain_run / "checkpoints")[-1] / "model.safetensors"))
    got = load_file(str(list_checkpoints(tmp_path / "run" / "checkpoints")[-1] / "model.safetensors"))
    assert sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k]) for k in want)


def test_merge_and_load_go_through_the_registry(capsys, tmp_path, installed, gain_run):
    code, _, err = cli(capsys, "lora-merge", gain_run, "--out", tmp_path / "merged")
    assert code == 0, err
    merged = load(tmp_path / "merged")
    assert merged.state.adapter is None and not any(k.endswith(".gain") for k in merged.params)
    adapted, plain = pathways.load(gain_run), pathways.load(tmp_path / "merged")
    batch = random_batch(load_trained(tmp_path / "merged")[0].graph, jax.random.key(4))
    forward = eqx.filter_jit(lambda model, batch: model(batch)["lm_head.logits"])
    np.testing.assert_allclose(np.asarray(forward(plain, batch)), np.asarray(forward(adapted, batch)), rtol=1e-5, atol=1e-5)


def test_bad_adapter_settings_are_one_line_each(capsys, tmp_path, installed, base_run):
    args = ("finetune", write_config(tmp_path), "--pathway", "decoder", "--from", base_run, "--out", tmp_path / "ft")
    code, _, err = cli(capsys, *args, "--adapter", "output_gain", "--adapter-config", "min_features=0")
    assert (code, err) == (2, "error: --adapter-config.min_features: Input should be greater than 0 (got 0)\n")
    code, _, err = cli(capsys, *args, "--adapter", "output_gain", "--adapter-config", "min_features=100000")
    assert code == 2 and err.strip().endswith("train.trainable: adapter 'output_gain' finds nothing to adapt in pathway 'decoder': train its weights (no adapter) or name another pathway")
    code, _, err = cli(capsys, "finetune", with_adapter(write_config(tmp_path, "gain.yaml"), "{type: output_gain}"), "--pathway", "decoder", "--lora-rank", 2, "--from", base_run, "--out", tmp_path / "ft")
    assert (code, err) == (2, "error: --lora-rank: sets the rank of a 'lora' adapter, but train.adapter.type is 'output_gain': add --adapter lora to replace it, or drop --lora-rank\n")
    yaml_bad = with_adapter(write_config(tmp_path, "bad.yaml"), "{type: output_gain, config: {min_feature: 2}}")
    code, _, err = cli(capsys, "finetune", yaml_bad, "--pathway", "decoder", "--from", base_run, "--out", tmp_path / "ft")
    line = next(i for i, l in enumerate(yaml_bad.read_text().splitlines(), 1) if "min_feature" in l)
    assert code == 2 and err.startswith(f"error: {yaml_bad}:{line}:") and "train.adapter.config.min_feature: unknown field 'min_feature'; did you mean 'min_features'?" in err
    assert not (tmp_path / "ft").exists()
