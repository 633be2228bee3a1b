"""The built-in datasets: documented records, deterministic disjoint splits, batches for their example configs, and the `data` CLI."""

from __future__ import annotations

import hashlib
import json
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pathways
from pathways._errors import ConfigError
from pathways.cli import main
from pathways.data import Batcher, ByteTokenizer
from pathways.data._inspect import open_dataset
from pathways.data.cldr import CLDRTranslation
from pathways.data.easy_vqa import ANSWERS
from pathways.plugins import dataset_registry

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "pathways/data/files"
NEW = ("easy_vqa", "spoken_numbers", "cldr_translation", "english_prose", "wordnet_commonsense")


def _array(shape, dtype):
    return lambda v: isinstance(v, np.ndarray) and v.shape == shape and v.dtype == dtype


def _is(t):
    return lambda v: isinstance(v, t) and not isinstance(v, bool)


# Each record field's documented type, per dataset.
TYPES = {
    "easy_vqa": {"image": _array((64, 64, 3), np.float32), "question": _is(str), "answer": _is(str), "answer_id": _is(int), "text": _is(str)},
    "spoken_numbers": {
        "audio": _array((16000,), np.float32),
        "audio_mask": _array((16000,), np.bool_),
        "label": _is(int),
        "digits": _is(str),
        "language": _is(str),
        "text": _is(str),
    },
    "cldr_translation": {k: _is(str) for k in ("source", "target", "text", "pair", "kind", "key")},
    "english_prose": {"text": _is(str)},
    "wordnet_commonsense": {
        "question": _is(str),
        "choices": lambda v: isinstance(v, list) and len(v) == 4 and all(isinstance(c, str) for c in v),
        "answer": _is(int),
        "relation": _is(str),
        "text": _is(str),
    },
}


# What must never appear in both splits: the item a record is about.
KEY_FIELD = {"spoken_numbers": "audio", "easy_vqa": "image", "cldr_translation": "key", "english_prose": "text", "wordnet_commonsense": "question"}


def key(name: str, rec: dict) -> str:
    v = rec[KEY_FIELD[name]]
    return hashlib.sha256(v.tobytes()).hexdigest() if isinstance(v, np.ndarray) else v


def sample(ds, n: int = 40) -> list[dict]:
    """`n` records spread over the whole dataset (first and last included)."""
    return [ds[int(i)] for i in np.unique(np.linspace(0, len(ds) - 1, n).astype(int))]


@pytest.mark.parametrize("name", NEW)
def test_records_have_the_documented_fields_and_types(name):
    cls = dataset_registry().get(name).cls
    assert dataset_registry().get(name).plugin.startswith("pathways.data.")
    for split in ("train", "test"):
        ds = open_dataset(name, {"split": split})
        assert len(ds) > 0
        for rec in sample(ds, 10):
            assert set(rec) == set(cls.fields) == set(TYPES[name])
            bad = [f for f, ok in TYPES[name].items() if not ok(rec[f])]
            assert not bad, f"{name} fields {bad} do not match: {[rec[f] for f in bad]}"


@pytest.mark.parametrize("name", NEW)
def test_splits_are_disjoint_and_deterministic(name):
    train, test = open_dataset(name, {"split": "train"}), open_dataset(name, {"split": "test"})
    assert len(test) < len(train)
    test_keys = {key(name, test[i]) for i in range(len(test))}
    if name == "easy_vqa":  # 38k questions: the package's test images are new images
        train_keys = {key(name, r) for r in sample(train, 300)}
    else:
        train_keys = {key(name, train[i]) for i in range(len(train))}
    assert not train_keys & test_keys
    again = open_dataset(name, {"split": "test"})
    assert [json.dumps(again[i].get("text")) for i in range(len(again))] == [json.dumps(test[i].get("text")) for i in range(len(test))]


def test_hash_split_does_not_depend_on_the_python_process():
    # Pinned: sha256 of the key, never Python's salted hash(); a change here re-deals every split.
    test = CLDRTranslation(CLDRTranslation.Config(split="test"))
    assert len(test) == 208
    assert [test[i]["key"] for i in range(4)] == ["001", "002", "005", "009"] and test[3]["text"] == "Oceania => Océanie"


def test_easy_vqa_answers_index_the_vocabulary():
    ds = open_dataset("easy_vqa", {"split": "test"})
    assert (len(ds), len(open_dataset("easy_vqa"))) == (9673, 38575)
    for r in sample(ds):
        assert ANSWERS[r["answer_id"]] == r["answer"] and r["text"] == f"{r['question']} {r['answer']}"
        assert 0.0 <= r["image"].min() and r["image"].max() <= 1.0
    assert len({r["answer"] for r in sample(ds, 200)}) >= 10


def test_spoken_numbers_every_number_in_every_language():
    ds = open_dataset("spoken_numbers")
    recs = [ds[i] for i in range(len(ds))]
    assert {(r["language"], r["label"]) for r in recs} == {(lang, n) for lang in ("en", "fr", "de", "es", "ru") for n in range(21)}
    fr = {r["label"]: r["text"] for r in recs if r["language"] == "fr"}
    assert (fr[17], fr[20]) == ("dix-sept", "vingt")
    for r in recs[::25]:
        real = int(r["audio_mask"].sum())
        assert r["audio_mask"][:real].all() and 1600 < real <= 16000  # left-aligned, 0.1-1 s of speech
        assert np.all(r["audio"][real:] == 0) and 0.5 < np.abs(r["audio"][:real]).max() <= 1.0
        assert r["digits"] == str(r["label"])
    test = open_dataset("spoken_numbers", {"split": "test"})
    assert {(test[i]["language"], test[i]["label"]) for i in range(len(test))} < {(r["language"], r["label"]) for r in recs}  # new voices only
    only_ru = open_dataset("spoken_numbers", {"languages": ["ru"]})
    assert {only_ru[i]["language"] for i in range(len(only_ru))} == {"ru"}


def test_cldr_pairs_kinds_and_locales():
    ds = open_dataset("cldr_translation", {"target": "ja", "kinds": ["months", "days"]})
    recs = [ds[i] for i in range(len(ds))]
    assert {r["kind"] for r in recs} == {"months", "days"} and all(r["pair"] == "en-ja" for r in recs)
    assert recs[0]["text"] == "January => 1月"
    fr = [open_dataset("cldr_translation", {"split": s}) for s in ("train", "test")]
    by_key = {d[i]["key"]: d[i] for d in fr for i in range(len(d))}
    assert by_key["DE"]["text"] == "Germany => Allemagne" and by_key["day-0"]["target"] == "lundi"
    with pytest.raises(ConfigError, match="unknown CLDR locale 'xx_YY'"):
        open_dataset("cldr_translation", {"target": "xx_YY"})


def test_prose_chunks_respect_max_chars_and_drop_the_licence():
    for unit in ("window", "sentence"):
        ds = open_dataset("english_prose", {"unit": unit, "max_chars": 120})
        texts = [ds[i]["text"] for i in range(len(ds))]
        assert all(0 < len(t) <= 120 for t in texts)
        assert not any("Gutenberg" in t or "CHAPTER" in t for t in texts)
    sentences = open_dataset("english_prose", {"unit": "sentence"})
    assert "In all the classes I attended, I made some kind of blunder." in {sentences[i]["text"] for i in range(len(sentences))}


def test_wordnet_questions_have_one_right_answer():
    ds = open_dataset("wordnet_commonsense")
    recs = [ds[i] for i in range(len(ds))]
    assert {r["relation"] for r in recs} == {"hypernym", "part", "antonym", "entailment", "cause"}
    for r in recs:
        assert r["question"].count("___") == 1 and len(set(r["choices"])) == 4
        assert r["text"] == r["question"].replace("___", r["choices"][r["answer"]])
    assert len(open_dataset("wordnet_commonsense", {"relations": ["antonym"]})) < len(ds)


def test_committed_data_files_stay_small():
    sizes = {p.name: p.stat().st_size for p in FILES.iterdir()}
    assert {"spoken_numbers.npz", "wordnet_questions.jsonl", "botchan.txt"} <= set(sizes)
    assert sizes["spoken_numbers.npz"] < 3e6 and sizes["wordnet_questions.jsonl"] < 1e6


# ---------------------------------------------------------------------------
# Batches: each dataset fills the batch its example config declares.
# ---------------------------------------------------------------------------

TEXT_LM = """\
dims: {{B: 4, T: 40}}
batch: {{tokens: {{shape: [B, T], dtype: int32}}}}
pathways:
  text: {{type: token_embedding, config: {{vocab_size: 259, width: 16}}, inputs: {{tokens: batch.tokens}}}}
  head: {{type: lm_head, config: {{vocab_size: 259, width: 16, tied: true}}, inputs: {{x: text.embeddings, embedding: text.table}}}}
data: {{dataset: {dataset}, fields: {{tokens: text}}}}
train: {{losses: [{{type: next_token, logits: head.logits, targets: batch.tokens}}]}}
"""


def batches_for(path: Path) -> tuple[dict, dict, Batcher]:
    graph = pathways.validate(path)
    data = graph.loaded.spec.data
    tok = ByteTokenizer()
    batcher = Batcher(open_dataset(data.dataset, data.config), graph.batch, data.fields, tok, seed=0)
    eval_batcher = Batcher(open_dataset(data.dataset, data.eval_config or {}), graph.batch, data.fields, tok, seed=0)
    return graph.batch, batcher.batch_at(0), eval_batcher


@pytest.mark.parametrize("example", ["vqa.yaml", "spoken_numbers.yaml", "translation.yaml"])
def test_example_config_batches_have_the_declared_shapes(example):
    spec, batch, eval_batcher = batches_for(ROOT / "examples" / example)
    for b in (batch, eval_batcher.batch_at(1)):
        assert set(b) == set(spec)
        for name, s in spec.items():
            assert b[name].shape == s.shape and b[name].dtype == s.dtype, name
    tok = ByteTokenizer()
    text = tok.decode(batch["tokens"][0])
    assert batch["tokens"][0, 0] == tok.bos_id and text
    if example == "vqa.yaml":
        assert text.split(" ")[-1] in ANSWERS and batch["image"].max() <= 1.0
    if example == "spoken_numbers.yaml":
        assert batch["audio_mask"].any(axis=1).all() and ((0 <= batch["label"]) & (batch["label"] <= 20)).all()
    if example == "translation.yaml":
        assert " => " in text


@pytest.mark.parametrize("dataset", ["english_prose", "wordnet_commonsense"])
def test_text_datasets_fill_a_text_lm_batch(dataset, write_yaml):
    spec, batch, _ = batches_for(write_yaml(TEXT_LM.format(dataset=dataset)))
    assert batch["tokens"].shape == (4, 40) and (batch["tokens"][:, 0] == ByteTokenizer.bos_id).all()


# ---------------------------------------------------------------------------
# CLI: `pathways data list` and `pathways data show`.
# ---------------------------------------------------------------------------


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_data_list_json(capsys):
    code, out, err = run(capsys, "data", "list", "--json")
    assert code == 0 and err == ""
    info = {d["name"]: d for d in json.loads(out)["datasets"]}
    assert set(NEW) | {"digits"} <= set(info)
    assert info["easy_vqa"]["splits"] == {"train": 38575, "test": 9673}
    assert info["spoken_numbers"]["plugin"] == "pathways.data.spoken_numbers"
    assert list(info["spoken_numbers"]["fields"]) == ["audio", "audio_mask", "label", "digits", "language", "text"]
    bundled = {name: d for name, d in info.items() if "needs" not in d}  # file datasets need a path to have records
    assert all(set(d["splits"]) == {"train", "test"} and all(d["splits"].values()) for d in bundled.values())
    assert info["jsonl"]["needs"] == ["path"] and info["text"]["needs"] == ["path"]


def test_data_show_writes_wav_and_spectrogram_previews(capsys, tmp_path):
    code, out, err = run(capsys, "data", "show", "spoken_numbers", "--split", "test", "-n", "2", "--preview-dir", str(tmp_path))
    assert code == 0 and err == ""
    assert "spoken_numbers split test: 60 records" in out and "audio_mask" in out and "'en'" in out
    wavs = sorted(tmp_path.glob("*.wav"))
    assert [p.name for p in wavs] == ["spoken_numbers-test-audio-0.wav", "spoken_numbers-test-audio-1.wav"]
    rec = open_dataset("spoken_numbers", {"split": "test"})[0]
    with wave.open(str(wavs[0])) as w:
        assert (w.getframerate(), w.getnchannels(), w.getnframes()) == (16000, 1, int(rec["audio_mask"].sum()))
    png = tmp_path / "spoken_numbers-test-audio.png"
    assert png.exists() and f"wrote {png}" in out


def test_data_show_image_grid_and_config_json(capsys, tmp_path):
    code, out, _ = run(capsys, "data", "show", "easy_vqa", "-n", "3", "--preview-dir", str(tmp_path), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["records"][0]["image"]["shape"] == [64, 64, 3] and info["previews"] == [str(tmp_path / "easy_vqa-train-image.png")]
    with Image.open(info["previews"][0]) as im:
        assert im.size == (3 * 66 + 2, 66 + 2)  # three 64-pixel tiles in a row, 2-pixel gutters
    code, out, _ = run(capsys, "data", "show", "cldr_translation", "--config", "target=de", "kinds=[days]", "-n", "7", "--json")
    days = json.loads(out)
    assert days["config"]["kinds"] == ["days"] and {r["pair"] for r in days["records"]} == {"en-de"}


def test_data_show_unknown_dataset_exits_2_with_one_line(capsys):
    code, out, err = run(capsys, "data", "show", "nope")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: dataset: unknown dataset type 'nope' (registered: " + ", ".join(dataset_registry().names()) + ")"
    ]
    code, _, err = run(capsys, "data", "show", "cldr_translation", "--config", "kinds=[moons]")
    assert code == 2 and err.startswith("error: cldr_translation.config.kinds.0:")
