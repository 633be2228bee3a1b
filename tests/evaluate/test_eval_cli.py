"""`pathways eval` and `pathways tasks` as a user runs them, on tiny checkpoints trained one step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import cli, fake_distribution

import pathways
from pathways.plugins import new_plugin_manager

FIXTURES = Path(__file__).resolve().parents[1] / "plugins" / "fixtures"

MC = {("multiple_choice", "acc"), ("multiple_choice", "acc_norm")}
EXPECTED = {
    "text": {
        "lm_perplexity": {("perplexity", "perplexity"), ("perplexity", "bits_per_byte")},
        "translation_en_fr": {("generation", "bleu"), ("generation", "chrf"), ("generation", "exact_match")},
        "qa_wordnet": {("generation", "exact_match"), ("generation", "f1")},
        "summarization": {("generation", "rouge1"), ("generation", "rouge2"), ("generation", "rougeL")},
        "commonsense_mc": MC,
        "causal_mc": MC,
    },
    "vqa": {"vqa": {("generation", "exact_match")} | MC},
    "audio": {"spoken_numbers": {("generation", "exact_match"), ("classification", "acc")}},
    "digits": {"digits_caption": {("generation", "names_digit")}},
}
BOUNDS = {"bleu": 100, "chrf": 100, "perplexity": float("inf"), "bits_per_byte": float("inf")}


@pytest.mark.slow
@pytest.mark.parametrize("model", list(EXPECTED))
def test_builtin_tasks_run_on_a_tiny_model(model, checkpoint, tmp_path, capsys):
    run = checkpoint(model)
    tasks = EXPECTED[model]
    code, out, err = cli(capsys, "eval", run, "--tasks", ",".join(tasks), "--limit", 2, "--batch-size", 8, "--out", tmp_path / "r.json", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert json.loads((tmp_path / "r.json").read_text()) == rows
    assert {t: {(r["kind"], r["metric"]) for r in rows if r["task"] == t} for t in tasks} == tasks
    ckpt = run / "checkpoints" / "step-00000001"
    state = json.loads((ckpt / "state.json").read_text())
    for r in rows:
        assert (r["n"], r["skipped"]) == (2, 0), r
        assert 0 <= r["value"] <= BOUNDS.get(r["metric"], 1), r
        assert (r["checkpoint"], r["config_sha256"], r["step"]) == (str(ckpt.resolve()), state["config_sha256"], 1)
    ppl = [r["value"] for r in rows if r["metric"] == "perplexity"]
    assert all(1 < p < 10 * 259 for p in ppl)  # an untrained byte model: about uniform over 259 ids


@pytest.mark.slow
def test_table_output(checkpoint, capsys):
    code, out, err = cli(capsys, "eval", checkpoint("text"), "--tasks", "causal_mc", "--limit", 2)
    assert code == 0, err
    assert "causal_mc" in out and "acc_norm" in out and "step 1" in out


@pytest.mark.slow
def test_a_task_needing_an_image_on_a_text_only_model_names_the_missing_input(checkpoint, capsys):
    code, out, err = cli(capsys, "eval", checkpoint("text"), "--tasks", "lm_perplexity,vqa")
    assert code == 2 and out == ""
    assert err.splitlines() == ["error: task vqa: needs an image input, and this model has none (it reads: text only)"]


@pytest.mark.slow
def test_a_text_task_on_an_image_model_says_what_is_missing(checkpoint, capsys):
    code, out, err = cli(capsys, "eval", checkpoint("digits"), "--tasks", "digits_caption,lm_perplexity", "--limit", 1)
    assert code == 2 and out == ""  # refused before digits_caption ran
    assert err.splitlines() == ["error: batch.image: the model reads an image (batch.image), which task 'lm_perplexity' does not provide"]


def test_unknown_task_lists_the_registered_ones(tmp_path, capsys):
    code, out, err = cli(capsys, "eval", tmp_path / "nowhere", "--tasks", "vqa,sumarization")
    assert code == 2
    (line,) = err.splitlines()
    assert line.startswith("error: --tasks: unknown task type 'sumarization'; did you mean 'summarization'? (registered: causal_mc, clip_caption, commonsense_mc, ")


def test_tasks_lists_the_builtins(capsys):
    code, out, _ = cli(capsys, "tasks", "--json")
    tasks = {t["name"]: t for t in json.loads(out)}
    assert set(EXPECTED["text"]) | {"vqa", "spoken_numbers", "digits_caption"} <= set(tasks)
    assert tasks["vqa"]["kinds"] == ["generation", "multiple_choice"] and tasks["vqa"]["needs"] == ["image"]
    assert tasks["translation_en_fr"]["plugin"] == "pathways.evaluate.tasks.translation"


@pytest.mark.slow
def test_a_third_party_task_runs_through_pathways_eval(checkpoint, tmp_path, monkeypatch, capsys):
    """Install a package with a task, then name it in --tasks: nothing in this repository changes."""
    site = tmp_path / "site"
    (site / "letters_plugin").mkdir(parents=True)
    (site / "letters_plugin" / "__init__.py").write_text((FIXTURES / "letters_task.py").read_text())
    fake_distribution(site, "letters_plugin", {"letters": "letters_plugin"})
    monkeypatch.syspath_prepend(str(site))
    pm = new_plugin_manager()
    monkeypatch.setattr("pathways.plugins._registry.get_plugin_manager", lambda: pm)
    pathways.plugins.task_registry.cache_clear()
    try:
        code, out, _ = cli(capsys, "tasks", "--json")
        assert {t["name"]: t["plugin"] for t in json.loads(out)}["next_letter"] == "letters"
        code, out, err = cli(capsys, "eval", checkpoint("text"), "--tasks", "next_letter", "--limit", 5, "--json")
        assert code == 0, err
        assert {(r["task"], r["metric"], r["n"]) for r in json.loads(out)} == {("next_letter", "acc", 5), ("next_letter", "acc_norm", 5)}
    finally:
        pathways.plugins.task_registry.cache_clear()
