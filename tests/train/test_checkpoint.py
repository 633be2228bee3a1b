"""Checkpoints: atomic saves, pruning, clear errors for damaged files, loading into a changed graph."""

from __future__ import annotations

import shutil

import jax
import numpy as np
import pytest
from trainkit import cli, write_config

from pathways.config import load_config
from pathways.graph import build, resolve
from pathways.train import CheckpointError, _checkpoint, list_checkpoints, load, load_into, save
from pathways.train._checkpoint import model_params


@pytest.fixture
def fresh(tmp_path):
    """A freshly initialised tiny digits model (seed 1, so it differs from the trained base)."""
    return build(resolve(load_config(write_config(tmp_path))), jax.random.key(1))


def test_crash_during_save_keeps_the_previous_checkpoint(monkeypatch, tmp_path, base_run):
    c = load(base_run)
    root = tmp_path / "checkpoints"

    def save_step(step):
        return save(root, step, params=c.params, opt_state=c.optimizer_state(), state=c.state, config=c.config, keep=3)

    previous = save_step(2)
    real = _checkpoint.save_tensors

    def crash(tensors, filename, *args, **kwargs):
        real(tensors, filename, *args, **kwargs)
        with open(filename, "r+b") as f:  # the disk filled up half-way through this file
            f.truncate(f.seek(0, 2) // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_checkpoint, "save_tensors", crash)
    with pytest.raises(OSError, match="No space left"):
        save_step(4)
    monkeypatch.undo()

    assert list_checkpoints(root) == [previous]  # the half-written directory is not a checkpoint
    assert len(list(root.iterdir())) == 2  # it is there, but under a name that is not a checkpoint's
    again = load(previous)
    assert again.state.step == 2
    assert all(np.array_equal(again.params[k], c.params[k]) for k in c.params)
    assert load(tmp_path).path == previous  # a run directory resolves to its newest complete checkpoint
    # The next save of that step succeeds over the leftover.
    assert save_step(4) == root / "step-00000004"
    assert list_checkpoints(root) == [previous, root / "step-00000004"]


def test_keep_checkpoints_keeps_the_newest(capsys, tmp_path):
    config = write_config(tmp_path, steps=5, checkpoint_every=1, keep_checkpoints=2)
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    found = list_checkpoints(tmp_path / "run" / "checkpoints")
    assert [p.name for p in found] == ["step-00000004", "step-00000005"]
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["step-00000004", "step-00000005"]


def damaged_copy(base_run, tmp_path, file: str, how: str):
    target = tmp_path / "damaged"
    shutil.copytree(base_run / "checkpoints" / "step-00000004", target)
    path = target / file
    if how == "truncate":
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.unlink()
    return target, path


@pytest.mark.parametrize(
    "file, how",
    [("model.safetensors", "truncate"), ("model.safetensors", "delete"), ("state.json", "delete"), ("config.yaml", "delete")],
)
def test_damaged_checkpoint_is_a_clear_error(capsys, tmp_path, base_run, file, how):
    target, path = damaged_copy(base_run, tmp_path, file, how)
    with pytest.raises(CheckpointError) as info:
        load(target)
    assert str(path) in str(info.value)
    code, out, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "image", "--from", target, "--out", tmp_path / "ft")
    assert code == 2
    assert "Traceback" not in err
    assert err.startswith(f"error: {path}")
    assert len(err.splitlines()) == 1


def test_resume_skips_a_damaged_newest_checkpoint_and_uses_the_previous_one(capsys, tmp_path, base_run):
    # Without the optimizer state a resumed run would silently restart Adam's moments: that checkpoint
    # is not resumable, so the previous intact one is used, and said once.
    config = write_config(tmp_path)
    damage = {
        "truncated optimizer": ("optimizer.safetensors", lambda p: p.write_bytes(p.read_bytes()[:100])),
        "missing optimizer": ("optimizer.safetensors", lambda p: p.unlink()),
        "truncated weights": ("model.safetensors", lambda p: p.write_bytes(p.read_bytes()[:-8])),
        "corrupt state": ("state.json", lambda p: p.write_text('{"step": 4,')),
        "missing state": ("state.json", lambda p: p.unlink()),
        "corrupt config": ("config.yaml", lambda p: p.write_text("train: [\n")),
    }
    for i, (how, (name, spoil)) in enumerate(damage.items()):
        run = tmp_path / f"run{i}"
        shutil.copytree(base_run, run)
        spoil(run / "checkpoints" / "step-00000004" / name)
        code, out, err = cli(capsys, "train", config, "--out", run, "--resume", "--steps", 6, "--no-progress")
        assert code == 0, (how, err)
        assert err.count("note: skipping damaged checkpoint") == 1 and "step-00000004" in err, (how, err)
        assert "Traceback" not in err
        assert "at step 2" in out, how
        assert list_checkpoints(run / "checkpoints")[-1].name == "step-00000006"
    # With no intact checkpoint left there is nothing to resume: one line per checkpoint skipped, then the error.
    run = tmp_path / "none"
    shutil.copytree(base_run, run)
    for c in list_checkpoints(run / "checkpoints"):
        (c / "state.json").unlink()
    code, _, err = cli(capsys, "train", config, "--out", run, "--resume", "--no-progress")
    assert code == 2
    assert err.splitlines()[-1] == f"error: {run}: --resume: no intact checkpoint to resume from"
    assert "Traceback" not in err


def test_resume_with_other_trainable_pathways_is_an_error(capsys, tmp_path, base_run):
    config = write_config(tmp_path)
    run = tmp_path / "run"
    code, _, err = cli(capsys, "finetune", config, "--pathway", "image", "--from", base_run, "--out", run, "--steps", 2, "--no-progress")
    assert code == 0, err
    code, _, err = cli(capsys, "finetune", config, "--pathway", "decoder", "--from", base_run, "--out", run, "--resume", "--steps", 4)
    assert code == 2
    assert "Traceback" not in err
    assert "step-00000002: --resume: the run trained ['image'] but this command trains ['decoder']" in err


def test_load_into_new_trained_pathway_starts_fresh(fresh, base_run):
    params = {k: v for k, v in load(base_run).params.items() if not k.startswith("image.")}
    model, notes = load_into(fresh, params, {"image"})
    assert notes == ["pathway 'image' is not in the checkpoint: freshly initialised (it is being trained)"]
    loaded, initial = model_params(model), model_params(fresh)
    for k, v in loaded.items():
        expected = initial[k] if k.startswith("image.") else params[k]
        assert np.array_equal(v, expected), k


def test_load_into_new_frozen_pathway_is_an_error(fresh, base_run):
    params = {k: v for k, v in load(base_run).params.items() if not k.startswith("image.")}
    with pytest.raises(CheckpointError) as info:
        load_into(fresh, params, {"decoder"})
    [problem] = info.value.problems
    assert problem.where == "pathways.image"
    assert "not in the checkpoint and frozen" in problem.message


def test_load_into_shape_mismatch_names_pathway_parameter_and_shapes(fresh, base_run):
    params = dict(load(base_run).params)
    params["decoder.final_norm.weight"] = np.zeros(48, np.float32)
    with pytest.raises(CheckpointError) as info:
        load_into(fresh, params, set())
    [problem] = info.value.problems
    assert problem.where == "pathways.decoder"
    assert problem.message == "parameter 'final_norm.weight': checkpoint has shape [48], the graph needs [32]"


def test_load_into_missing_parameter_is_an_error(fresh, base_run):
    params = dict(load(base_run).params)
    del params["decoder.final_norm.weight"]
    with pytest.raises(CheckpointError, match="parameter 'final_norm.weight' is missing from the checkpoint"):
        load_into(fresh, params, {"decoder"})


def test_load_into_reports_checkpoint_pathways_not_in_the_graph(fresh, base_run):
    params = {**load(base_run).params, "audio.proj.weight": np.zeros((4, 4), np.float32)}
    model, notes = load_into(fresh, params, set())
    assert notes == ["checkpoint pathways not in this graph (not loaded): audio"]
    assert all(np.array_equal(v, params[k]) for k, v in model_params(model).items())


def test_checkpoint_state_is_one_typed_record(base_run):
    """state.json is written and read as `CheckpointState`; an older or newer file still loads."""
    import dataclasses
    import json

    from pathways.train import CheckpointState

    newest = list_checkpoints(base_run / "checkpoints")[-1]
    on_disk = json.loads((newest / "state.json").read_text())
    assert set(on_disk) == {f.name for f in dataclasses.fields(CheckpointState)}
    state = load(newest).state
    assert isinstance(state, CheckpointState) and state.step == on_disk["step"] and state.optimizer_state
    assert CheckpointState.from_dict(json.loads(state.to_json())) == state
    older = CheckpointState.from_dict({"step": 3, "lora": None, "written_by": "a future version"})
    assert older == CheckpointState(step=3)


def test_save_tensors_writes_what_safetensors_reads_back_exactly(tmp_path):
    import ml_dtypes
    from safetensors import safe_open
    from safetensors.numpy import load_file

    from pathways.train import save_tensors

    rng = np.random.default_rng(0)
    tensors = {
        "b.weight": rng.normal(size=(3, 5)).astype(np.float32),
        "a.scale": np.float32(2.5) * np.ones(()),
        "c.half": rng.normal(size=(7,)).astype(ml_dtypes.bfloat16),
        "d.ids": np.arange(6, dtype=np.int32).reshape(2, 3),
        "e.mask": np.array([True, False, True]),
        "f.transposed": rng.normal(size=(4, 2)).astype(np.float32).T,  # not C-contiguous
        "g.empty": np.zeros((0, 4), np.float32),
    }
    save_tensors(tensors, tmp_path / "t.safetensors", metadata={"format": "pt"})
    back = load_file(tmp_path / "t.safetensors")
    assert sorted(back) == sorted(tensors)
    for name, value in tensors.items():
        assert back[name].dtype == value.dtype and back[name].shape == value.shape and np.array_equal(back[name], value), name
    with safe_open(tmp_path / "t.safetensors", framework="np") as f:
        assert f.metadata() == {"format": "pt"}
