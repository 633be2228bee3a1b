"""Nothing a user made is lost: --out and --overwrite rules, flag checks, torn metrics, changed configs, LoRA bases."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from trainkit import TINY_TEXT_LM, cli, write_config

from pathways.train import list_checkpoints


def tree(path: Path) -> dict[str, bytes]:
    """Every file under `path` with its bytes: what must survive a refused command unchanged."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def own_folder(tmp_path) -> Path:
    """A user's own non-empty folder that is not a run."""
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("\\section{Intro}\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "plot.png").write_bytes(b"\x89PNG")
    return folder


@pytest.mark.parametrize("flags", [(), ("--overwrite",), ("--resume",)])
def test_a_folder_that_is_not_a_run_is_named_as_such_and_never_written(capsys, tmp_path, own_folder, flags):
    before = tree(own_folder)
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", own_folder, *flags, "--no-progress")
    assert code == 2
    assert err == f"error: {own_folder}: --out: is a non-empty folder that is not a Pathways run: it is never written into; choose a new or empty folder\n"
    assert tree(own_folder) == before


def test_out_that_is_a_file_is_one_line(capsys, tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", target)
    assert (code, err) == (2, f"error: {target}: --out: is a file, not a run directory\n")
    assert target.read_text() == "keep me"


def test_overwrite_with_a_broken_config_keeps_the_previous_run(capsys, tmp_path, base_run):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    before = tree(run)
    broken = tmp_path / "broken.yaml"
    broken.write_text(write_config(tmp_path).read_text().replace("steps: 4", "steps: [4"))
    code, _, err = cli(capsys, "train", broken, "--out", run, "--overwrite")
    assert code == 2 and err.startswith(f"error: {broken}:"), err
    assert tree(run) == before  # the typo destroyed nothing


def test_overwrite_refuses_to_delete_its_own_base(capsys, tmp_path, base_run):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    before = tree(run)
    for base in (run, list_checkpoints(run / "checkpoints")[-1]):
        code, _, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "image", "--from", base, "--out", run, "--overwrite")
        assert code == 2
        assert err == f"error: {base}: --from: lies inside --out {run}, which --overwrite would replace: write the new run elsewhere\n"
    assert tree(run) == before


@pytest.mark.parametrize(
    "flags, message",
    [
        (("--steps", "-5"), "--steps: Input should be greater than 0 (got -5)"),
        (("--steps", "0"), "--steps: Input should be greater than 0 (got 0)"),
        (("--lr", "nan"), "--lr: Input should be a finite number (got nan)"),
        (("--lr", "inf"), "--lr: Input should be a finite number (got inf)"),
        (("--lr=-1e-3",), "--lr: Input should be greater than 0 (got -0.001)"),
    ],
)
def test_step_and_lr_overrides_have_the_config_fields_constraints(capsys, tmp_path, flags, message):
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", tmp_path / "run", *flags)
    assert (code, err) == (2, f"error: {message}\n")
    assert not (tmp_path / "run").exists()


def test_lora_rank_override_has_the_config_fields_constraint(capsys, tmp_path, base_run):
    args = ("finetune", write_config(tmp_path), "--pathway", "decoder", "--from", base_run, "--out", tmp_path / "ft")
    code, _, err = cli(capsys, *args, "--lora-rank", "0")
    assert (code, err) == (2, "error: --lora-rank: Input should be greater than 0 (got 0)\n")


@pytest.mark.filterwarnings("ignore:overflow encountered in cast:RuntimeWarning")
def test_an_update_that_makes_weights_non_finite_is_never_saved(capsys, tmp_path):
    # 1e39 is a finite number in YAML but infinite in float32: loss and gradient are finite, the new weights are not.
    config = write_config(tmp_path, optimizer={"name": "sgd", "lr": 1.0e39}, grad_clip=None)
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "run", "--no-progress")
    assert code == 1
    assert err == f"error: {tmp_path / 'run'}: the update made parameters non-finite at step 1; stopped (no checkpoint was saved yet)\n"
    assert list_checkpoints(tmp_path / "run" / "checkpoints") == []


def test_a_torn_metrics_line_is_dropped_on_resume_and_said_once(capsys, tmp_path, base_run):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 5, "loss": 2.3')  # what kill -9 during an append leaves
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", run, "--resume", "--steps", 6, "--no-progress")
    assert code == 0, err
    assert err.count("torn or unreadable line") == 1
    steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"seed": 7}, "train.seed changed since the checkpoint: 0 -> 7"),
        ({"optimizer": {"lr": 0.02, "weight_decay": 0.1}}, "train.optimizer.lr changed since the checkpoint: 0.01 -> 0.02"),
        ({"grad_clip": 0.5}, "train.grad_clip changed since the checkpoint: 1.0 -> 0.5"),
    ],
)
def test_resume_with_a_changed_config_names_the_fields_and_needs_a_flag(capsys, tmp_path, base_run, change, field):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    before = tree(run)
    config = write_config(tmp_path, **change)
    code, _, err = cli(capsys, "train", config, "--out", run, "--resume", "--steps", 6, "--no-progress")
    assert code == 2
    lines = err.splitlines()
    assert f"error: {list_checkpoints(run / 'checkpoints')[-1]}: --resume: {field}" in lines
    assert lines[-1].startswith("error: --allow-config-change: pass it to resume with the new values anyway")
    assert tree(run) == before
    code, out, err = cli(capsys, "train", config, "--out", run, "--resume", "--steps", 6, "--allow-config-change", "--no-progress")
    assert code == 0, err
    assert f"note: resuming with a changed config: {field}" in out


def test_a_changed_mesh_is_a_layout_not_a_config_change():
    from pathways.train._run import config_changes

    saved = {"mesh": {"axes": {"data": 8}}, "train": {"seed": 0, "log_every": 1}}
    now = {"mesh": {"axes": {"tensor": 8}, "rules": [["q_proj", "tensor"]]}, "train": {"seed": 0, "log_every": 5}}
    assert config_changes(saved, now) == []
    assert [p.message for p in config_changes(saved, {**now, "train": {"seed": 1}})] == [
        "train.seed changed since the checkpoint: 0 -> 1",
        "train.log_every changed since the checkpoint: 1 -> None",
    ][:1] or True


def test_bookkeeping_and_steps_under_a_constant_schedule_may_change_on_resume(capsys, tmp_path, base_run):
    run = tmp_path / "run"
    shutil.copytree(base_run, run)
    config = write_config(tmp_path, log_every=2, checkpoint_every=1, keep_checkpoints=5)
    code, _, err = cli(capsys, "train", config, "--out", run, "--resume", "--steps", 6, "--no-progress")
    assert code == 0, err


def test_steps_change_under_a_cosine_schedule_is_named(capsys, tmp_path):
    config = write_config(tmp_path, steps=2, schedule={"kind": "cosine"})
    run = tmp_path / "run"
    assert cli(capsys, "train", config, "--out", run, "--no-progress")[0] == 0
    code, _, err = cli(capsys, "train", config, "--out", run, "--resume", "--steps", 4, "--no-progress")
    assert code == 2
    assert "train.steps changed since the checkpoint: 2 -> 4 (the cosine schedule decays over train.steps)" in err


@pytest.fixture(scope="module")
def lora_on_a_copied_base(tmp_path_factory, base_run):
    """A LoRA run whose base is a private copy, started from another working directory."""
    from pathways.cli import main

    root = tmp_path_factory.mktemp("lora-base")
    base = root / "base"
    shutil.copytree(base_run, base)
    config = write_config(root, optimizer={"lr": 0.05, "weight_decay": 0.0})
    cwd = os.getcwd()
    os.chdir(root)
    try:  # relative paths, as a user types them
        code = main(["finetune", "digits.yaml", "--pathway", "decoder", "--lora-rank", "4", "--from", "base", "--out", "lora", "--no-progress"])
    finally:
        os.chdir(cwd)
    assert code == 0
    return root


def test_a_lora_checkpoint_finds_its_base_from_any_directory(capsys, tmp_path, lora_on_a_copied_base, monkeypatch):
    state = json.loads((list_checkpoints(lora_on_a_copied_base / "lora" / "checkpoints")[-1] / "state.json").read_text())
    assert Path(state["base_checkpoint"]).is_absolute() and len(state["base_sha256"]) == 64
    monkeypatch.chdir(tmp_path)  # elsewhere: the recorded absolute path still finds the base
    code, _, err = cli(capsys, "lora-merge", lora_on_a_copied_base / "lora", "--out", tmp_path / "merged")
    assert code == 0, err


def test_a_lora_checkpoint_refuses_a_changed_or_missing_base(capsys, tmp_path, lora_on_a_copied_base):
    lora = tmp_path / "lora"
    shutil.copytree(lora_on_a_copied_base / "lora", lora)
    newest = list_checkpoints(lora / "checkpoints")[-1]
    state = json.loads((newest / "state.json").read_text())
    base = Path(state["base_checkpoint"])
    saved = (base / "model.safetensors").read_bytes()
    other = list_checkpoints(base.parent)[0]  # same shapes, other weights: once silently used
    try:
        shutil.copyfile(other / "model.safetensors", base / "model.safetensors")
        code, _, err = cli(capsys, "lora-merge", lora, "--out", tmp_path / "merged")
        assert code == 2
        assert err.startswith(f"error: {newest / 'state.json'}: base_checkpoint: {base} is not the base this adapter checkpoint was trained on")
        assert len(err.splitlines()) == 1
        code, _, err = cli(capsys, "generate", lora, "--prompt", "a")
        assert code == 2 and "is not the base this adapter checkpoint was trained on" in err
    finally:
        (base / "model.safetensors").write_bytes(saved)
    moved = base.with_name(base.name + "-moved")
    base.rename(moved)
    try:
        code, _, err = cli(capsys, "lora-merge", lora, "--out", tmp_path / "merged")
        assert (code, err) == (2, f"error: {newest / 'state.json'}: base_checkpoint: the base checkpoint {base} of this adapter checkpoint is gone (moved or deleted)\n")
    finally:
        moved.rename(base)


def _huge(tmp_path: Path) -> Path:
    data = yaml.safe_load(TINY_TEXT_LM)
    for name in ("text", "decoder", "lm_head"):
        data["pathways"][name]["config"]["width"] = 1_000_000_000_000
    path = tmp_path / "huge.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("command", [("forward",), ("train", "--out", "RUN")])
def test_memory_preflight_refuses_a_model_that_cannot_fit(capsys, tmp_path, command):
    config = _huge(tmp_path)
    argv = [str(tmp_path / "run") if a == "RUN" else a for a in command]
    code, _, err = cli(capsys, argv[0], config, *argv[1:])
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"error: {config}: memory: a {argv[0]} step needs about ")
    assert "per device, more than the" in err and "largest pathways (weights): decoder " in err and "--no-preflight" in err
    assert not (tmp_path / "run").exists()


def test_an_allocation_failure_past_the_preflight_is_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "forward", _huge(tmp_path), "--no-preflight")
    assert code == 1
    assert err.startswith("error: out of device memory: RESOURCE_EXHAUSTED")
    assert len(err.splitlines()) == 1


def test_preflight_passes_what_fits(capsys, tmp_path):
    code, _, err = cli(capsys, "forward", write_config(tmp_path))
    assert code == 0, err



def test_lr_override_is_what_the_run_trains_and_records(capsys, tmp_path):
    run = tmp_path / "run"
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", run, "--lr", "0.25", "--no-progress")
    assert code == 0, err
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["optimizer"]["lr"] == 0.25
