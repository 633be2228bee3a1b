"""Sequence packing: full rows, every example once an epoch, attention and loss inside segments, exact resume."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

import pathways
from pathways.cli import main
from pathways.data import ByteTokenizer, PackedBatcher, open_dataset
from pathways.data._packing import best_fit_decreasing
from pathways.train._loss import next_token_loss

ROOT = Path(__file__).resolve().parents[2]
PACKED = ROOT / "examples" / "packed_prose.yaml"


def test_best_fit_decreasing_places_every_item_once_within_capacity():
    rng = np.random.default_rng(0)
    lengths = [int(n) for n in rng.integers(1, 300, 2000)]
    bins = best_fit_decreasing(lengths, 256)
    placed = sorted(i for b in bins for i in b)
    assert placed == list(range(len(lengths)))
    assert all(sum(min(lengths[i], 256) for i in b) <= 256 for b in bins)
    assert sum(min(n, 256) for n in lengths) / (len(bins) * 256) > 0.97


def packed_batcher(T=256, B=8, seed=0) -> PackedBatcher:
    spec = lambda: jax.ShapeDtypeStruct((B, T), jnp.int32)  # noqa: E731
    batch = {"tokens": spec(), "segment_ids": spec(), "positions": spec()}
    ds = open_dataset("english_prose", {"unit": "sentence", "max_chars": 254})
    return PackedBatcher(ds, batch, {"tokens": "text"}, ByteTokenizer(), seed=seed)


def test_rows_hold_whole_examples_with_segments_and_restarting_positions():
    b, tok = packed_batcher(), ByteTokenizer()
    seen = []
    for step in range(b.per_epoch):
        batch = b.batch_at(step)
        for tokens, seg, pos in zip(batch["tokens"], batch["segment_ids"], batch["positions"]):
            assert ((tokens != 0) == (seg > 0)).all()
            for s in range(1, seg.max() + 1):
                where = seg == s
                piece = tokens[where]
                assert piece[0] == tok.bos_id and piece[-1] == tok.eos_id
                assert (pos[where] == np.arange(where.sum())).all()
                seen.append(tok.decode(piece))
    texts = Counter(b.dataset[i]["text"] for i in range(len(b.dataset)))
    assert not Counter(seen) - texts  # no example twice in an epoch (nor one that is not a record)
    assert len(seen) >= 0.97 * sum(texts.values())  # all but the rows of the last, partial batch
    assert float(np.mean([(b.batch_at(s)["segment_ids"] > 0).mean() for s in range(b.per_epoch)])) >= 0.95


def test_a_batch_is_the_same_from_a_fresh_batcher_in_any_epoch():
    walked = packed_batcher()
    steps = [0, walked.per_epoch - 1, walked.per_epoch, 3 * walked.per_epoch + 2]
    walked_batches = {s: walked.batch_at(s) for s in range(max(steps) + 1)}
    for s in steps:
        fresh = packed_batcher().batch_at(s)
        for k in fresh:
            np.testing.assert_array_equal(fresh[k], walked_batches[s][k])
    assert not np.array_equal(packed_batcher(seed=1).batch_at(0)["tokens"], walked_batches[0]["tokens"])


def test_a_packed_row_gives_each_example_the_logits_it_gets_alone():
    graph = pathways.validate(PACKED)
    model = pathways.build(graph, jax.random.key(0))
    forward = eqx.filter_jit(lambda m, b: m(b)["lm_head.logits"])
    batch = packed_batcher().batch_at(0)
    packed = np.asarray(forward(model, {k: jnp.asarray(v) for k, v in batch.items()}))
    row, seg = batch["tokens"][0], batch["segment_ids"][0]
    for s in range(1, seg.max() + 1):
        where = seg == s
        alone = np.zeros_like(batch["tokens"])
        alone[:, : where.sum()] = row[where]
        one = {"tokens": alone, "segment_ids": (alone != 0).astype(np.int32), "positions": np.broadcast_to(np.arange(256, dtype=np.int32), alone.shape).copy()}
        logits = np.asarray(forward(model, {k: jnp.asarray(v) for k, v in one.items()}))
        np.testing.assert_allclose(packed[0][where], logits[0, : where.sum()], atol=1e-5, rtol=1e-5)


def test_the_loss_of_a_packed_row_is_the_token_weighted_mean_of_its_examples():
    key = jax.random.key(0)
    logits = jax.random.normal(key, (1, 10, 7))
    tokens = jnp.array([[1, 4, 5, 2, 1, 6, 3, 2, 0, 0]])
    seg = jnp.array([[1, 1, 1, 1, 2, 2, 2, 2, 0, 0]])
    loss, count = next_token_loss(logits, tokens, segment_ids=seg)
    a, na = next_token_loss(logits[:, :4], tokens[:, :4])
    b, nb = next_token_loss(logits[:, 4:8], tokens[:, 4:8])
    assert count == na + nb == 6
    np.testing.assert_allclose(loss, (a * na + b * nb) / (na + nb), rtol=1e-6)


def packed_config(tmp_path: Path, **train) -> Path:
    cfg = yaml.safe_load(PACKED.read_text())
    cfg["dims"] = {"B": 4, "T": 128}
    cfg["data"]["config"]["max_chars"] = cfg["data"]["eval_config"]["max_chars"] = 120
    cfg["train"].update(steps=6, log_every=2, eval_every=3, checkpoint_every=3, **train)
    path = tmp_path / "packed.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_training_prints_and_logs_the_packing_efficiency_and_resumes_exactly(tmp_path, capsys):
    config = packed_config(tmp_path)
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", str(config), "--out", str(full), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "note: packing: " in out and "of positions are real tokens (one example per row: " in out
    rows = [json.loads(line) for line in (full / "metrics.jsonl").read_text().splitlines()]
    assert all(r["packing_efficiency"] > 0.9 and "data/positions" not in r for r in rows)
    assert main(["train", str(config), "--out", str(part), "--no-progress"]) == 0
    shutil.rmtree(part / "checkpoints/step-00000006")
    assert main(["train", str(config), "--out", str(part), "--resume", "--no-progress"]) == 0
    resumed = [json.loads(line) for line in (part / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in resumed] == [r["loss"] for r in rows]


def test_packing_without_its_wiring_is_one_line_per_problem(tmp_path, capsys):
    cfg = yaml.safe_load(packed_config(tmp_path).read_text())
    cfg["pathways"]["decoder"]["inputs"] = {"x": "text.embeddings", "token_mask": "text.mask"}
    del cfg["train"]["losses"][0]["segment_ids"]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["train", str(tmp_path / "bad.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert "train.losses.0.segment_ids: rows are packed: set `segment_ids: batch.segment_ids`" in err
    assert "data.packing: no pathway reads batch.segment_ids" in err and "data.packing: no pathway reads batch.positions" in err

    cfg = yaml.safe_load(packed_config(tmp_path).read_text())
    del cfg["batch"]["positions"]
    cfg["pathways"]["decoder"]["inputs"].pop("positions")
    cfg["batch"]["image"] = {"shape": ["B", 8, 8, 1], "dtype": "float32"}
    cfg["data"]["fields"]["image"] = "text"
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["validate", str(tmp_path / "bad.yaml")]) != 0
    err = capsys.readouterr().err
    assert "batch.positions: packing fills batch.positions: declare it" in err
    assert "batch.image: packing packs token fields" in err


def test_chat_records_pack_with_their_response_masks(tmp_path):
    from pathways.config import ChatSource, ResponseMask

    spec = lambda dtype: jax.ShapeDtypeStruct((4, 256), dtype)  # noqa: E731
    batch = {"tokens": spec(jnp.int32), "loss_mask": spec(jnp.bool_), "segment_ids": spec(jnp.int32), "positions": spec(jnp.int32)}
    ds = open_dataset("jsonl", {"path": str(ROOT / "examples/own_data/chats.jsonl")})
    fields = {"tokens": ChatSource(messages="messages"), "loss_mask": ResponseMask(response_of="tokens")}
    b = PackedBatcher(ds, batch, fields, ByteTokenizer())
    out = b.batch_at(0)
    tok = ByteTokenizer()
    assert (out["segment_ids"].max(axis=1) >= 2).all()
    for tokens, mask, seg in zip(out["tokens"], out["loss_mask"], out["segment_ids"]):
        assert not mask[seg == 0].any()
        for s in range(1, seg.max() + 1):
            reply = tokens[(seg == s) & mask]
            assert reply[-1] == tok.eos_id and "User:" not in tok.decode(reply)
