"""Curation never destroys what a user has: outputs that would overwrite the input, bad flags and
broken or diverging classifiers are refused in one line before anything is written."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pathways import ConfigError, PathwaysError
from pathways.cli import main
from pathways.curate import Features, HashedNgramClassifier, make_filter, train_classifier
from tests.curate.conftest import write_jsonl
from tests.curate.test_classifier import spam_or_ham


@pytest.fixture
def corpus(tmp_path, english):
    return write_jsonl(tmp_path / "in.jsonl", [{"id": i, "text": english + f" Number {i}."} for i in range(5)])


def snapshot(directory):
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file()}


def curate_args(input, out, report, *extra):
    return ["data", "curate", str(input), "--out", str(out), "--report", str(report), *map(str, extra)]


@pytest.mark.parametrize(
    "out, report, message",
    [
        ("in.jsonl", "r.json", "in.jsonl: the output is the input file: writing it would destroy the corpus being read"),
        ("out.jsonl", "in.jsonl", "in.jsonl: the report is the input file: writing it would destroy the corpus being read"),
        ("./sub/../in.jsonl", "r.json", "in.jsonl: the output is the input file"),
        ("link.jsonl", "r.json", "link.jsonl: the output is the input file"),
        ("hard.jsonl", "r.json", "hard.jsonl: the output is the input file"),
        ("out.jsonl", "out.jsonl", "out.jsonl: the report is the same file as the output: one would overwrite the other"),
        ("sub", "r.json", "sub: the output is a directory: name a file inside it"),
        ("missing/out.jsonl", "r.json", "missing/out.jsonl: the output's directory"),
    ],
)
def test_outputs_that_would_destroy_the_input_are_refused(tmp_path, corpus, capsys, out, report, message):
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.jsonl").symlink_to(corpus)
    os.link(corpus, tmp_path / "hard.jsonl")
    before = snapshot(tmp_path)
    assert main(curate_args(corpus, tmp_path / out, tmp_path / report)) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1, err
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--workers", "0"], "--workers: must be at least 1, got 0"),
        (["--chunk-size", "-3"], "--chunk-size: must be at least 1, got -3"),
        (["--workers", "two"], "--workers: not an integer: 'two'"),
    ],
)
def test_curate_flags_are_checked_before_anything_runs(tmp_path, corpus, capsys, argv, message):
    assert main(curate_args(corpus, tmp_path / "out.jsonl", tmp_path / "r.json", *argv)) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "out.jsonl").exists()


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    texts, labels = spam_or_ham(60, seed=5)
    return write_jsonl(tmp_path_factory.mktemp("labelled") / "l.jsonl", [{"text": t, "label": y} for t, y in zip(texts, labels)])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--lr", "nan"], "--lr: must be a finite number, got nan"),
        (["--lr", "-1"], "--lr: must be in (0, inf], got -1"),
        (["--lr", "inf"], "--lr: must be a finite number, got inf"),
        (["--epochs", "0"], "--epochs: must be at least 1, got 0"),
        (["--holdout", "1"], "--holdout: must be in [0, 1), got 1"),
        (["--batch-size", "0"], "--batch-size: must be at least 1, got 0"),
    ],
)
def test_train_classifier_flags_are_checked(tmp_path, labelled, capsys, argv, message):
    assert main(["data", "train-classifier", "--input", str(labelled), "--out", str(tmp_path / "m"), *argv]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
    assert not (tmp_path / "m").exists()


def test_a_diverging_classifier_is_not_saved(tmp_path, labelled, capsys):
    argv = ["data", "train-classifier", "--input", str(labelled), "--out", str(tmp_path / "m"), "--buckets", "2^10"]
    assert main([*argv, "--lr", "1e38", "--epochs", "5"]) == 2
    err = capsys.readouterr().err
    assert "training diverged: the weights are not finite (learning rate 1e+38); nothing was saved" in err
    assert not (tmp_path / "m").exists()
    texts, labels = spam_or_ham(20, seed=1)
    with pytest.raises(PathwaysError, match="learning rate must be a positive finite number, got nan"):
        train_classifier(texts, labels, features=Features(buckets=2**10), learning_rate=float("nan"))


def broken_model(tmp_path, weights_value=0.0, bias_value=0.0):
    features = Features(buckets=2**6)
    weights = np.zeros((features.buckets, 2), np.float32)
    weights[:, 1] = weights_value
    model = HashedNgramClassifier(["ham", "spam"], features, weights, np.array([0.0, bias_value], np.float32))
    return model.save(tmp_path / "clf")


def test_a_classifier_with_non_finite_weights_is_refused_at_setup(tmp_path):
    broken_model(tmp_path, weights_value=np.nan)
    with pytest.raises(ConfigError, match="classifier.model: .*clf: damaged classifier: non-finite values in weights"):
        make_filter("classifier", {"model": "clf", "label": "spam"}, base_dir=tmp_path)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda c: c.pop("features"), "damaged classifier: KeyError: 'features'"),
        (lambda c: c.update(labels=["ham", "spam", "eggs"]), "damaged classifier: ValueError: weights (64, 2) / bias (2,) do not fit 64 buckets x 3 labels"),
        (lambda c: c["features"].update(colour="red"), "damaged classifier: TypeError:"),
    ],
)
def test_a_damaged_classifier_config_is_one_line(tmp_path, damage, message):
    path = broken_model(tmp_path) / "config.json"
    config = json.loads(path.read_text())
    damage(config)
    path.write_text(json.dumps(config))
    with pytest.raises(ConfigError) as err:
        make_filter("classifier", {"model": "clf", "label": "spam"}, base_dir=tmp_path)
    assert [message in str(p) for p in err.value.problems] == [True], str(err.value)


def test_a_nan_score_fails_closed_and_writes_nothing(tmp_path, corpus, capsys):
    # Finite weights whose logits overflow: P(spam) is NaN, which a `drop` filter would otherwise keep.
    broken_model(tmp_path, weights_value=3e38, bias_value=3e38)
    (tmp_path / "filters.yaml").write_text("- type: classifier\n  config: {model: clf, label: spam, action: drop}\n")
    before = snapshot(tmp_path)
    code = main(curate_args(corpus, tmp_path / "out.jsonl", tmp_path / "r.json", "--filters", tmp_path / "filters.yaml"))
    err = capsys.readouterr().err
    assert code == 2 and "classifier: P(spam) is nan for the document" in err and "the model clf is damaged" in err
    assert snapshot(tmp_path) == before  # no output, no report, no temporary file left
