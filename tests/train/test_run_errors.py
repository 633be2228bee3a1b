"""Bad input to `train`/`finetune`: one clear line, the right exit code, and no damage to what is on disk."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from trainkit import cli, write_config

from pathways.train import _loss, list_checkpoints, load
from pathways.train._run import Run


def test_unknown_pathway_lists_the_valid_ones(capsys, tmp_path, base_run):
    code, out, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "nope", "--from", base_run, "--out", tmp_path / "ft")
    assert code == 2
    assert "Traceback" not in err
    [line] = err.splitlines()
    assert line.startswith("error: --pathway: 'nope' is not a pathway of this config (pathways: ")
    listed = line.split("(pathways: ", 1)[1].rstrip(")").split(", ")
    assert sorted(listed) == ["decoder", "fusion", "image", "lm_head", "text"]
    assert not (tmp_path / "ft").exists()


def test_a_misspelt_pathway_gets_the_closest_name(capsys, tmp_path, base_run):
    code, _, err = cli(capsys, "finetune", write_config(tmp_path), "--pathway", "imgae", "--pathway", "decoder", "--from", base_run, "--out", tmp_path / "ft")
    assert code == 2
    assert err == "error: --pathway: 'imgae' is not a pathway of this config; did you mean 'image'? (pathways: decoder, fusion, image, lm_head, text)\n"
    assert not (tmp_path / "ft").exists()


def test_out_holding_a_run_needs_resume_or_overwrite(capsys, tmp_path, base_run):
    config = write_config(tmp_path, steps=2)
    out = tmp_path / "run"
    assert cli(capsys, "train", config, "--out", out, "--no-progress")[0] == 0
    before = (out / "metrics.jsonl").read_text()
    code, _, err = cli(capsys, "train", config, "--out", out)
    assert code == 2
    assert err == f"error: {out}: --out: already holds a run: pass --resume to continue it or --overwrite to replace it\n"
    assert (out / "metrics.jsonl").read_text() == before
    (out / "checkpoints" / "stale-file").write_text("")
    code, _, err = cli(capsys, "train", config, "--out", out, "--overwrite", "--no-progress")
    assert code == 0, err
    assert not (out / "checkpoints" / "stale-file").exists()


def test_resume_with_nothing_to_resume(capsys, tmp_path):
    config = write_config(tmp_path)
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "none", "--resume")
    assert (code, err) == (2, f"error: {tmp_path / 'none'}: --resume: no run to resume\n")
    killed = tmp_path / "killed"  # a run killed before its first checkpoint
    (killed / "checkpoints").mkdir(parents=True)
    (killed / "config.yaml").write_text("name: x\n")
    (killed / "metrics.jsonl").write_text("")
    code, _, err = cli(capsys, "train", config, "--out", killed, "--resume")
    assert (code, err) == (2, f"error: {killed}: --resume: no intact checkpoint to resume from\n")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(capsys, monkeypatch, tmp_path):
    config = write_config(tmp_path, steps=6)
    out = tmp_path / "run"
    real = Run.batch

    def corrupt_from_step_2(self, step):  # a bad record from the third batch on
        batch = real(self, step)
        return {**batch, "image": np.full_like(batch["image"], np.nan)} if step >= 2 else batch

    monkeypatch.setattr(Run, "batch", corrupt_from_step_2)
    code, _, err = cli(capsys, "train", config, "--out", out, "--no-progress")
    assert code == 1
    assert "Traceback" not in err
    good = out / "checkpoints" / "step-00000002"
    assert err == f"error: {out}: loss became nan at step 3; stopped (last good checkpoint: {good})\n"
    assert list_checkpoints(out / "checkpoints") == [good]
    assert all(np.isfinite(v).all() for v in load(out).params.values())


def test_nan_gradient_stops_before_saving_nan_weights(capsys, monkeypatch, tmp_path):
    # A finite loss with a non-finite gradient (an overflow in the backward pass) must not reach a checkpoint.
    real = _loss.LOSSES["next_token"]

    def nan_gradient(logits, targets):
        loss, count = real(logits, targets)
        poison = jnp.sqrt(-1.0 - jnp.sum(jnp.square(logits)))  # NaN, never selected, but its gradient is NaN
        return jnp.where(True, loss, poison), count

    monkeypatch.setitem(_loss.LOSSES, "next_token", nan_gradient)
    config = write_config(tmp_path, steps=3, checkpoint_every=1, grad_clip=None)
    out = tmp_path / "run"
    code, _, err = cli(capsys, "train", config, "--out", out, "--no-progress")
    assert code == 1
    assert err == f"error: {out}: gradient norm became nan at step 1; stopped (no checkpoint was saved yet)\n"
    assert list_checkpoints(out / "checkpoints") == []


def test_plot_writes_a_png(capsys, tmp_path, base_run):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.jsonl").write_text((base_run / "metrics.jsonl").read_text())
    code, out, err = cli(capsys, "plot", run)
    assert code == 0, err
    png = run / "loss.png"
    assert out == f"wrote {png}\n"
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 1000
    code, _, err = cli(capsys, "plot", run, base_run, "--out", tmp_path / "two.png")
    assert code == 0 and (tmp_path / "two.png").stat().st_size > 1000


def test_plot_without_metrics_is_an_error(capsys, tmp_path):
    code, _, err = cli(capsys, "plot", tmp_path)
    assert (code, err) == (2, f"error: {tmp_path}: no metrics.jsonl: not a run directory\n")


def test_a_run_that_fails_before_its_first_step_leaves_no_run_directory(capsys, tmp_path, monkeypatch):
    from pathways.train import Run

    def exhausted(self, step):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1.5GiB")

    monkeypatch.setattr(Run, "batch", exhausted)
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", tmp_path / "run", "--no-progress")
    assert code == 1 and err.startswith("error: out of device memory: RESOURCE_EXHAUSTED")
    assert not (tmp_path / "run").exists() and not list(tmp_path.glob(".run.*"))  # nothing half-made, beside it either
    code, _, err = cli(capsys, "train", write_config(tmp_path), "--out", tmp_path / "run", "--no-progress", "--steps", "1")
    assert code == 1 and not (tmp_path / "run").exists()  # and the same --out is usable again, no --overwrite needed


def test_finetune_names_a_pathway_without_parameters_as_such(capsys, tmp_path, base_run):
    config = write_config(tmp_path)
    code, _, err = cli(capsys, "finetune", config, "--pathway", "fusion", "--from", base_run, "--out", tmp_path / "ft")
    assert code == 2 and err.strip() == "error: train.trainable: pathway 'fusion' (early_fusion) has no parameters: there is nothing in it to train"
    assert not (tmp_path / "ft").exists()
