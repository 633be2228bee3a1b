"""Weighted mixtures: proportions from the weights, batches a pure function of (seed, step), exact resume, one error per bad source."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import yaml

from pathways.cli import main
from pathways.data import Batcher, ByteTokenizer, MixtureBatcher, _mixture, open_dataset

ROOT = Path(__file__).resolve().parents[2]
BATCH = {"tokens": jax.ShapeDtypeStruct((8, 32), jnp.int32)}


def lines_dataset(tmp_path: Path, name: str, n: int):
    path = tmp_path / f"{name}.txt"
    path.write_text("".join(f"{name} {i}\n" for i in range(n)))
    return open_dataset("text", {"path": str(path), "unit": "line"})


def mixture(tmp_path, sizes=(50, 30, 7), weights=(5.0, 3.0, 2.0), seed=0) -> MixtureBatcher:
    names = [f"s{i}" for i in range(len(sizes))]
    sources = [Batcher(lines_dataset(tmp_path, n, k), BATCH, {"tokens": "text"}, ByteTokenizer(), whole_batches=False) for n, k in zip(names, sizes)]
    return MixtureBatcher(sources, list(weights), names, seed=seed)


def test_each_source_gives_its_weights_share_of_examples(tmp_path):
    mix = mixture(tmp_path)
    sources = np.concatenate([mix.draws(s)[0] for s in range(400)])  # 3200 examples
    share = np.bincount(sources, minlength=3) / len(sources)
    sigma = np.sqrt(mix.p * (1 - mix.p) / len(sources))
    assert (np.abs(share - mix.p) < 4 * sigma).all(), (share, mix.p)


def test_a_source_is_read_in_epochs_without_repeats_and_rows_come_from_their_source(tmp_path):
    mix = mixture(tmp_path)
    tok = ByteTokenizer()
    seen: dict[int, list[str]] = {0: [], 1: [], 2: []}
    for step in range(60):
        batch, (sources, _) = mix.batch_at(step), mix.draws(step)
        for row, k in zip(batch["tokens"], sources):
            seen[int(k)].append(tok.decode(row))
    for k, size in enumerate((50, 30, 7)):
        texts = seen[k]
        assert all(t.startswith(f"s{k} ") for t in texts)
        for e in range(len(texts) // size):  # every full epoch is each record once
            assert sorted(texts[e * size : (e + 1) * size]) == sorted(f"s{k} {i}" for i in range(size))


def test_any_batch_is_the_same_from_a_fresh_batcher_across_chunk_boundaries(tmp_path, monkeypatch):
    monkeypatch.setattr(_mixture, "CHUNK", 12)  # batches of 8 straddle chunks
    walked = mixture(tmp_path)
    sequential = [walked.batch_at(s)["tokens"] for s in range(20)]
    for s in (19, 3, 11, 0):
        np.testing.assert_array_equal(mixture(tmp_path).batch_at(s)["tokens"], sequential[s])
    other_seed = mixture(tmp_path, seed=1)
    assert any((other_seed.batch_at(s)["tokens"] != sequential[s]).any() for s in range(5))


def mixture_config(tmp_path: Path, **change) -> Path:
    cfg = yaml.safe_load((ROOT / "examples/own_mixture.yaml").read_text())
    cfg["dims"] = {"B": 4, "T": 48}
    for source in cfg["data"]["mixture"]:
        for key in ("config", "eval_config"):
            if source.get(key, {}).get("path"):
                source[key]["path"] = str(ROOT / "examples" / source[key]["path"])
    cfg["train"].update(steps=6, log_every=2, eval_every=3, checkpoint_every=3)
    for key, value in change.items():
        cfg["data"]["mixture"][int(key[1:])].update(value)
    path = tmp_path / "mixture.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def test_metrics_log_examples_and_tokens_per_source_and_resume_is_exact(tmp_path):
    config = mixture_config(tmp_path)
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", str(config), "--out", str(full), "--no-progress"]) == 0
    rows = [json.loads(line) for line in (full / "metrics.jsonl").read_text().splitlines()]
    for r in rows:
        examples = [r[f"data/{n}/examples"] for n in ("english_prose", "captions", "notes")]
        assert sum(examples) == 2 * 4  # log_every steps of B examples
        assert r["data/captions/tokens"] <= r["data/captions/examples"] * 48
    assert sum(r["data/english_prose/examples"] for r in rows) > sum(r["data/notes/examples"] for r in rows)
    assert "eval_loss" in rows[-1]
    assert main(["train", str(config), "--out", str(part), "--no-progress"]) == 0
    import shutil

    shutil.rmtree(part / "checkpoints/step-00000006")  # lost in a crash: resume starts a fresh batcher at step 3
    assert main(["train", str(config), "--out", str(part), "--resume", "--no-progress"]) == 0
    resumed = [json.loads(line) for line in (part / "metrics.jsonl").read_text().splitlines()]
    assert [r["loss"] for r in resumed] == [r["loss"] for r in rows]
    from safetensors.numpy import load_file

    a = load_file(full / "checkpoints/step-00000006/model.safetensors")
    b = load_file(part / "checkpoints/step-00000006/model.safetensors")
    assert all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "change, said",
    [
        ({"s0": {"weight": 0}, "s1": {"weight": 0}, "s2": {"weight": 0}}, "data: every mixture weight is 0"),
        ({"s1": {"weight": -1}}, "data.mixture.1.weight: "),
        ({"s2": {"fields": {}}}, "data.mixture.2.fields.tokens: batch field 'tokens' has no source"),
        ({"s0": {"dataset": "nope"}}, "data.mixture.0.dataset: unknown dataset type 'nope'"),
        ({"s0": {"fields": {"tokens": "words"}}}, "data.mixture.0.fields.tokens: dataset 'english_prose' has no field 'words'"),
        ({"s1": {"config": {"path": "no/such/*.jsonl"}}}, "data.mixture.1.config.path: 'no/such/*.jsonl' matches no file"),
    ],
)
def test_a_bad_source_is_one_line_naming_it(tmp_path, capsys, change, said):
    config = mixture_config(tmp_path, **change)
    assert main(["train", str(config), "--out", str(tmp_path / "run"), "--no-progress"]) != 0
    err = capsys.readouterr().err
    assert said in err, err
    assert not (tmp_path / "run").exists()
