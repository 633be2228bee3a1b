"""Data: the digits dataset, byte tokenization, and batches that are a pure function of (seed, step)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from pathways._errors import ConfigError
from pathways.cli import main
from pathways.data import Batcher, ByteTokenizer
from pathways.data.digits import NAMES, Digits

B, T = 4, 24


def spec(**fields):
    return {name: jax.ShapeDtypeStruct(shape, dtype) for name, (shape, dtype) in fields.items()}


BATCH = spec(tokens=((B, T), np.int32), image=((B, 8, 8, 1), np.float32), label=((B,), np.int32))
FIELDS = {"tokens": "text", "image": "image", "label": "label"}


@pytest.fixture(scope="module")
def digits():
    return Digits(Digits.Config())


def test_digits_records(digits):
    test = Digits(Digits.Config(split="test"))
    assert (len(digits), len(test)) == (1437, 360)
    rec = digits[0]
    assert set(rec) == set(Digits.fields) == {"image", "label", "text"}
    assert rec["image"].shape == (8, 8, 1) and rec["image"].dtype == np.float32
    images = np.stack([digits[i]["image"] for i in range(100)])
    assert images.min() == 0.0 and images.max() == 1.0
    for i in range(20):
        r = digits[i]
        assert 0 <= r["label"] <= 9 and r["text"] == f"a handwritten {NAMES[r['label']]}"
    assert not np.array_equal(test[0]["image"], digits[0]["image"])
    assert Digits(Digits.Config(template="digit {digit}"))[0]["text"] == f"digit {rec['label']}"


def test_batches_have_the_declared_shapes_and_dtypes(digits):
    batcher = Batcher(digits, BATCH, FIELDS, ByteTokenizer(), seed=0)
    batch = batcher.batch_at(0)
    assert set(batch) == set(BATCH)
    for name, s in BATCH.items():
        assert batch[name].shape == s.shape and batch[name].dtype == s.dtype, name
    assert batcher.per_epoch == len(digits) // B
    # Each row is one record: the caption names the label, the image is that record's image.
    tok = ByteTokenizer()
    for i, index in enumerate(batcher.indices(0)):
        assert tok.decode(batch["tokens"][i]) == digits[int(index)]["text"]
        assert batch["label"][i] == digits[int(index)]["label"]
        np.testing.assert_array_equal(batch["image"][i], digits[int(index)]["image"])


def test_batches_are_a_function_of_seed_and_step(digits):
    a = Batcher(digits, BATCH, FIELDS, ByteTokenizer(), seed=3)
    b = Batcher(digits, BATCH, FIELDS, ByteTokenizer(), seed=3)
    for step in (0, 5, a.per_epoch + 2):
        x, y = a.batch_at(step), b.batch_at(step)
        assert all(np.array_equal(x[k], y[k]) for k in x)
    assert all(np.array_equal(a.batch_at(7)[k], a.batch_at(7)[k]) for k in BATCH)  # no hidden state
    other = Batcher(digits, BATCH, FIELDS, ByteTokenizer(), seed=4)
    assert not np.array_equal(other.indices(0), a.indices(0))


def test_each_epoch_is_a_permutation(digits):
    batcher = Batcher(digits, BATCH, FIELDS, ByteTokenizer(), seed=0)
    n = batcher.per_epoch
    epochs = [np.concatenate([batcher.indices(e * n + s) for s in range(n)]) for e in range(2)]
    for order in epochs:
        assert len(order) == n * B and len(np.unique(order)) == n * B  # no record twice within an epoch
        assert order.min() >= 0 and order.max() < len(digits)
    assert not np.array_equal(epochs[0], epochs[1])  # reshuffled each epoch


def test_field_without_a_source_is_a_config_error(digits):
    with pytest.raises(ConfigError) as info:
        Batcher(digits, BATCH, {"tokens": "text", "label": "label"}, ByteTokenizer())
    [problem] = info.value.problems
    assert problem.where == "data.fields.image"
    assert "batch field 'image' has no source" in problem.message and "image, label, text" in problem.message


def test_unknown_fields_are_config_errors(digits):
    with pytest.raises(ConfigError) as info:
        Batcher(digits, BATCH, {**FIELDS, "image": "picture", "mask": "text"}, ByteTokenizer())
    problems = {p.where: p.message for p in info.value.problems}
    assert "has no field 'picture'" in problems["data.fields.image"]
    assert "'mask' is not a batch field" in problems["data.fields.mask"]


def test_shape_mismatch_names_the_batch_field(digits):
    batcher = Batcher(digits, {**BATCH, "image": jax.ShapeDtypeStruct((B, 4, 4, 1), np.float32)}, FIELDS, ByteTokenizer())
    with pytest.raises(ConfigError, match=r"batch.image: records give shape \[8, 8, 1\] per row, the config declares \[4, 4, 1\]"):
        batcher.batch_at(0)


def test_cli_names_the_field_without_a_source(capsys, write_yaml, tmp_path):
    config = write_yaml(
        "dims: {B: 4, T: 24}\n"
        "batch:\n"
        "  tokens: {shape: [B, T], dtype: int32}\n"
        "  image: {shape: [B, 8, 8, 1], dtype: float32}\n"
        "pathways:\n"
        "  text: {type: token_embedding, config: {vocab_size: 259, width: 16}, inputs: {tokens: batch.tokens}}\n"
        "  image:\n"
        "    type: vit_encoder\n"
        "    config: {image_size: [8, 8], channels: 1, patch: 4, width: 16, depth: 1, heads: 2, mlp_dim: 32, out_dim: 16}\n"
        "    inputs: {images: batch.image}\n"
        "  fusion: {type: early_fusion, config: {width: 16}, inputs: {prefix: [image.tokens], text: text.embeddings, text_mask: text.mask}}\n"
        "  lm_head: {type: lm_head, config: {vocab_size: 259, width: 16, tied: true}, inputs: {x: fusion.x, embedding: text.table}}\n"
        "data: {dataset: digits, fields: {tokens: text}}\n"
        "train: {losses: [{type: next_token, logits: lm_head.logits, targets: batch.tokens}]}\n"
    )
    code = main(["train", str(config), "--out", str(tmp_path / "run")])
    out, err = capsys.readouterr()
    assert code == 2
    assert "data.fields.image: batch field 'image' has no source" in err
    assert "Traceback" not in err


def test_byte_tokenizer_bos_eos_padding_truncation():
    tok = ByteTokenizer()
    assert (tok.pad_id, tok.bos_id, tok.eos_id, tok.vocab_size) == (0, 1, 2, 259)
    assert tok.encode("hi") == [1, ord("h") + 3, ord("i") + 3, 2]
    assert tok.encode("hi", bos=False, eos=False) == [ord("h") + 3, ord("i") + 3]
    assert tok.encode("é") == [1, 0xC3 + 3, 0xA9 + 3, 2]  # UTF-8 bytes, never an unknown token
    assert tok.decode(tok.encode("naïve café")) == "naïve café"
    padded = tok.pad(tok.encode("hi"), 8)
    assert padded.dtype == np.int32 and padded.tolist() == [1, 107, 108, 2, 0, 0, 0, 0]
    assert tok.pad(tok.encode("hello"), 3).tolist() == [1, ord("h") + 3, ord("e") + 3]  # truncated: no eos
    assert tok.decode(padded) == "hi"


def test_text_fields_are_tokenized_and_padded(digits):
    batcher = Batcher(digits, spec(tokens=((B, T), np.int32)), {"tokens": "text"}, ByteTokenizer())
    tokens = batcher.batch_at(0)["tokens"]
    for row, index in zip(tokens, batcher.indices(0)):
        text = digits[int(index)]["text"]
        n = len(text.encode()) + 2
        assert row[0] == 1 and row[n - 1] == 2 and (row[n:] == 0).all() and (row[1 : n - 1] >= 3).all()
    short = Batcher(digits, spec(tokens=((B, 8), np.int32)), {"tokens": "text"}, ByteTokenizer()).batch_at(0)["tokens"]
    assert (short[:, 0] == 1).all() and (short != 0).all() and (short != 2).all()  # truncated to 8: bos, 7 bytes
