"""The hashed n-gram classifier: learns a toy spam task, saves without pickle, reloads identically; the filter uses it."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

from pathways import ConfigError, PathwaysError
from pathways.cli import main
from pathways.curate import Features, HashedNgramClassifier, make_filter, read_labelled, train_classifier
from pathways.data.prose import paragraphs, sentences
from tests.curate.conftest import write_jsonl

FEATURES = Features(buckets=2**14)


def spam_or_ham(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Half Botchan sentences (`ham`), half generated spam messages (`spam`)."""
    rng = random.Random(seed)
    normal = [s for p in paragraphs()[1:] for s in sentences(p) if len(s.split()) >= 6]
    offers = ["free iPhone", "cash prize", "cheap pills", "casino bonus", "crypto giveaway", "gift card", "luxury watches"]
    verbs = ["Claim your", "Win a", "Get your", "Order your", "Grab a"]
    tails = ["now!!!", "today only, click here.", "limited offer, act fast!", "at www.deals.example now", "before midnight!!"]
    signs = ["Reply STOP to opt out.", "Winners notified by SMS.", ""]
    texts, labels = [], []
    for i in range(n):
        if i % 2:
            texts.append(f"{rng.choice(verbs)} {rng.choice(offers)} {rng.choice(tails)} {rng.choice(signs)}".strip())
            labels.append("spam")
        else:
            texts.append(rng.choice(normal))
            labels.append("ham")
    return texts, labels


@pytest.fixture(scope="module")
def trained():
    texts, labels = spam_or_ham(400, seed=0)
    return train_classifier(texts, labels, features=FEATURES, epochs=3, holdout=0.2, seed=0)


def test_learns_a_separable_task_to_high_heldout_accuracy(trained):
    model, metrics = trained
    assert metrics["heldout_examples"] == 80 and metrics["train_examples"] == 320
    assert metrics["heldout_accuracy"] >= 0.95 and metrics["train_accuracy"] >= 0.95
    fresh, fresh_labels = spam_or_ham(200, seed=1)  # new messages, new sentences
    assert model.accuracy(fresh, fresh_labels) >= 0.95
    assert model.labels == ["ham", "spam"]


def test_saved_model_reloads_with_identical_predictions(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path / "clf")
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((tmp_path / "clf" / "config.json").read_text())
    assert config["format"] == "pathways-hashed-ngram-classifier" and config["features"]["buckets"] == 2**14
    loaded = HashedNgramClassifier.load(tmp_path / "clf")
    texts, _ = spam_or_ham(50, seed=2)
    assert np.array_equal(loaded.predict_proba(texts), model.predict_proba(texts))
    assert loaded.labels == model.labels and loaded.features == model.features
    assert loaded.info["training"]["heldout_accuracy"] == trained[1]["heldout_accuracy"]


def test_features_are_stable_hashes():
    a = FEATURES("Claim your free iPhone now!!!")
    assert np.array_equal(a, Features(buckets=2**14)("claim  your FREE iphone now!!!"))  # lower-cased, spaces collapsed
    assert a.dtype == np.int32 and a.min() >= 0 and a.max() < 2**14
    assert len(FEATURES("")) == 1  # an empty text still has a feature row (the bias decides)


def test_classifier_filter_quality_and_safety(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path / "clf")
    spam = {"text": "Win a cash prize now!!! Reply STOP to opt out.", "id": 1}
    ham = {"text": "I went to the school in the morning and met the headmaster.", "id": 2}
    safety = make_filter("classifier", {"model": "clf", "label": "spam", "action": "drop", "threshold": 0.5}, base_dir=tmp_path)
    assert safety.keep(dict(ham)) is None
    assert safety.keep(dict(spam)).startswith("spam: p=")
    quality = make_filter("classifier", {"model": "clf", "label": "ham", "score_field": "p_ham"}, base_dir=tmp_path)
    doc = dict(spam)
    assert quality.keep(doc).startswith("not_ham: p=")
    assert 0 <= doc["p_ham"] < 0.5 and doc["id"] == 1
    with pytest.raises(ConfigError, match="'eggs' is not a label of the model \\(labels: ham, spam\\)"):
        make_filter("classifier", {"model": "clf", "label": "eggs"}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match="not a saved classifier"):
        make_filter("classifier", {"model": "nowhere", "label": "spam"}, base_dir=tmp_path)


def test_train_classifier_cli_then_curate_with_it(tmp_path, capsys):
    texts, labels = spam_or_ham(300, seed=3)
    data = write_jsonl(tmp_path / "labelled.jsonl", [{"body": t, "is_spam": y == "spam"} for t, y in zip(texts, labels)])
    argv = ["data", "train-classifier", "--input", str(data), "--text-field", "body", "--label-field", "is_spam"]
    assert main([*argv, "--out", str(tmp_path / "safety"), "--epochs", "3", "--buckets", "2^14"]) == 0
    out = capsys.readouterr().out
    held = float(out.split("held-out accuracy ")[1].split()[0])
    assert held >= 0.95 and "train accuracy" in out
    assert HashedNgramClassifier.load(tmp_path / "safety").labels == ["false", "true"]

    (tmp_path / "filters.yaml").write_text("- type: classifier\n  config: {model: safety, label: 'true', action: drop}\n")
    docs = write_jsonl(tmp_path / "in.jsonl", [{"text": t, "n": i} for i, t in enumerate(spam_or_ham(40, seed=4)[0])])
    argv = ["data", "curate", str(docs), "--out", str(tmp_path / "out.jsonl"), "--report", str(tmp_path / "r.json")]
    assert main([*argv, "--filters", str(tmp_path / "filters.yaml"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    kept = [json.loads(line)["n"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert kept == list(range(0, 40, 2))  # every spam message (odd n) dropped, every sentence kept
    assert report["filters"][0]["reasons"] == {"true": 20}


def test_bad_training_input_names_the_lines(tmp_path, capsys):
    data = write_jsonl(tmp_path / "l.jsonl", [{"text": "a", "label": "x"}, "{oops", {"text": "b"}, {"text": "c", "label": "y"}])
    with pytest.raises(PathwaysError) as err:
        read_labelled(data)
    assert [(p.line, p.message.split(":")[0]) for p in err.value.problems] == [(2, "invalid JSON"), (3, "no 'label' field")]
    one_label = write_jsonl(tmp_path / "one.jsonl", [{"text": "a", "label": "x"}, {"text": "b", "label": "x"}])
    assert main(["data", "train-classifier", "--input", str(one_label), "--out", str(tmp_path / "m")]) == 2
    assert "need at least two distinct labels" in capsys.readouterr().err
    assert main(["data", "train-classifier", "--input", str(one_label), "--out", str(tmp_path / "m"), "--buckets", "1000"]) == 2
    assert capsys.readouterr().err == "error: --buckets: must be a power of two, got 1000\n"
