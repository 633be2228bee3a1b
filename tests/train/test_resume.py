"""Resuming: an interrupted run, resumed, ends bit-identical to an uninterrupted one, with one metrics line per step."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest
from trainkit import checkpoint_params, cli, write_config

from pathways.train import _checkpoint as ckpt
from pathways.train import _run, list_checkpoints

STEPS = 6


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    from pathways.cli import main

    root = tmp_path_factory.mktemp("uninterrupted")
    config = write_config(root, steps=STEPS)
    assert main(["train", str(config), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"


def metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def assert_same_as_uninterrupted(run: Path, uninterrupted: Path) -> None:
    a, b = checkpoint_params(uninterrupted), checkpoint_params(run)
    assert sorted(a) == sorted(b)
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    rows = metrics(run)
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))  # one line per step, none twice
    for r in rows:
        assert {"step", "loss", "lr", "tokens_per_s"} <= set(r)
        assert r["tokens_per_s"] > 0
    # The resumed run saw the same batches with the same optimizer state: identical losses.
    assert [r["loss"] for r in rows] == [r["loss"] for r in metrics(uninterrupted)]


def interrupt_during_call(monkeypatch, n: int, how) -> None:
    """Make the `n`-th train step call `how()` right after it is dispatched (while it computes)."""
    real = _run.make_train_step

    def patched(*args, **kwargs):
        step_fn, calls = real(*args, **kwargs), [0]

        def wrapped(*a):
            out = step_fn(*a)
            calls[0] += 1
            if calls[0] == n:
                how()
            return out

        return wrapped

    monkeypatch.setattr(_run, "make_train_step", patched)


def test_ctrl_c_during_a_step_saves_and_resumes_exactly(capsys, monkeypatch, tmp_path, uninterrupted):
    config = write_config(tmp_path, steps=STEPS)
    out = tmp_path / "run"
    interrupt_during_call(monkeypatch, 3, lambda: os.kill(os.getpid(), signal.SIGINT))  # a real Ctrl-C
    code, _, err = cli(capsys, "train", config, "--out", out, "--no-progress")
    assert code == 130
    assert "Traceback" not in err
    assert f"interrupted at step 3: saved {out / 'checkpoints' / 'step-00000003'}" in err
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-00000002", "step-00000003"]
    assert [r["step"] for r in metrics(out)] == [1, 2, 3]

    monkeypatch.undo()
    code, stdout, err = cli(capsys, "train", config, "--out", out, "--resume", "--no-progress")
    assert code == 0, err
    assert "at step 3" in stdout
    assert_same_as_uninterrupted(out, uninterrupted)


def test_abort_inside_a_step_keeps_the_last_checkpoint(capsys, monkeypatch, tmp_path, uninterrupted):
    # A KeyboardInterrupt inside a step (second Ctrl-C) finds its donated weights gone: nothing new is saved.
    config = write_config(tmp_path, steps=STEPS)
    out = tmp_path / "run"

    def abort():
        raise KeyboardInterrupt

    interrupt_during_call(monkeypatch, 3, abort)
    code, _, err = cli(capsys, "train", config, "--out", out, "--no-progress")
    assert code == 130
    assert "Traceback" not in err
    assert "aborted during step 3: not saved" in err and "step-00000002" in err
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-00000002"]

    monkeypatch.undo()
    code, _, err = cli(capsys, "train", config, "--out", out, "--resume", "--no-progress")
    assert code == 0, err
    assert_same_as_uninterrupted(out, uninterrupted)


def test_fewer_steps_then_resume_matches_and_redoes_lost_metrics(capsys, tmp_path, uninterrupted):
    config = write_config(tmp_path, steps=STEPS)
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", config, "--out", out, "--steps", 4, "--no-progress")
    assert code == 0, err
    # A crash after step 4 was logged but before it was checkpointed: resume must redo it, not log it twice.
    (out / "checkpoints" / "step-00000004").rename(tmp_path / "lost")
    assert [r["step"] for r in metrics(out)] == [1, 2, 3, 4]
    code, stdout, err = cli(capsys, "train", config, "--out", out, "--resume", "--no-progress")
    assert code == 0, err
    assert "at step 2" in stdout
    assert_same_as_uninterrupted(out, uninterrupted)


def test_ctrl_c_again_while_saving_keeps_the_last_checkpoint(capsys, monkeypatch, tmp_path, uninterrupted):
    # The first Ctrl-C stops at a step boundary and saves; a second one during that save aborts it.
    config = write_config(tmp_path, steps=STEPS)
    out = tmp_path / "run"
    interrupt_during_call(monkeypatch, 3, lambda: os.kill(os.getpid(), signal.SIGINT))
    real_save, saves = ckpt.save, [0]

    def save_then_ctrl_c(*args, **kwargs):
        saves[0] += 1
        if saves[0] == 2:  # step 2 is saved by checkpoint_every; the interrupt's save of step 3 is aborted
            real_write = ckpt._write_dir

            def write_and_interrupt(tmp, files):
                real_write(tmp, files)
                raise KeyboardInterrupt

            monkeypatch.setattr(ckpt, "_write_dir", write_and_interrupt)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(ckpt, "save", save_then_ctrl_c)
    code, _, err = cli(capsys, "train", config, "--out", out, "--no-progress")
    assert code == 130 and "Traceback" not in err
    assert f"aborted while saving step 3: not saved; resume from {out / 'checkpoints' / 'step-00000002'} with --resume" in err
    assert [p.name for p in list_checkpoints(out / "checkpoints")] == ["step-00000002"]

    monkeypatch.undo()
    code, _, err = cli(capsys, "train", config, "--out", out, "--resume", "--no-progress")
    assert code == 0, err
    assert not [p.name for p in (out / "checkpoints").iterdir() if p.name.startswith(".")]  # the torn save was cleared
    assert_same_as_uninterrupted(out, uninterrupted)
