"""Users' own files: `jsonl` (plain, .gz, .zst; images by path) and `text` datasets, paths relative to the config."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard
from PIL import Image

from pathways._errors import ConfigError
from pathways.cli import main
from pathways.data import open_dataset

ROOT = Path(__file__).resolve().parents[2]


def write_jsonl(path: Path, records: list, *, raw_lines: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(r) for r in records]
    for i, text in (raw_lines or {}).items():
        lines.insert(i, text)
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        data = gzip.compress(data)
    elif path.suffix == ".zst":
        data = zstandard.ZstdCompressor().compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_jsonl_reads_every_record_in_order_plain_or_compressed(tmp_path, suffix):
    records = [{"text": f"caption {i}", "n": i} for i in range(7)]
    write_jsonl(tmp_path / f"a{suffix}", records[:4])
    write_jsonl(tmp_path / f"b{suffix}", records[4:])
    ds = open_dataset("jsonl", {"path": f"*{suffix}"}, base_dir=tmp_path)
    assert len(ds) == 7 and [ds[i] for i in range(7)] == records
    assert set(ds.fields) == {"text", "n"}


def test_a_malformed_line_names_file_and_line_or_is_skipped_and_counted(tmp_path):
    file = write_jsonl(tmp_path / "d.jsonl", [{"text": "a"}, {"text": "b"}], raw_lines={1: '{"text": oops'})
    with pytest.raises(ConfigError) as exc:
        open_dataset("jsonl", {"path": "d.jsonl"}, base_dir=tmp_path)
    (problem,) = exc.value.problems
    assert problem.file == str(file) and "line 2 is not a JSON object" in problem.message
    with pytest.warns(UserWarning, match=r"skipped 1 malformed lines \(first: .*d.jsonl:2"):
        ds = open_dataset("jsonl", {"path": "d.jsonl", "on_error": "skip"}, base_dir=tmp_path)
    assert [ds[i]["text"] for i in range(len(ds))] == ["a", "b"]


def test_a_glob_that_matches_nothing_and_an_empty_file_are_one_line_each(tmp_path):
    with pytest.raises(ConfigError) as exc:
        open_dataset("jsonl", {"path": ["none/*.jsonl", "missing.jsonl"]}, where=("data.dataset", "data.config"), base_dir=tmp_path)
    said = [str(p) for p in exc.value.problems]
    assert len(said) == 2 and "data.config.path.0: 'none/*.jsonl' matches no file" in said[0] and "'missing.jsonl' is not a file" in said[1]
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(ConfigError, match="no records"):
        open_dataset("jsonl", {"path": "empty.jsonl"}, base_dir=tmp_path)


def test_text_files_are_records_per_file_or_per_line(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "one.txt").write_text("first line\n\nsecond line\n")
    (tmp_path / "docs" / "two.txt").write_text("third\n")
    per_file = open_dataset("text", {"path": "docs/*.txt"}, base_dir=tmp_path)
    assert [per_file[i]["text"] for i in range(len(per_file))] == ["first line\n\nsecond line\n", "third\n"]
    per_line = open_dataset("text", {"path": "docs/*.txt", "unit": "line"}, base_dir=tmp_path)
    assert [per_line[i]["text"] for i in range(len(per_line))] == ["first line", "second line", "third"]


def image_caption_folder(root: Path) -> Path:
    """Three 8x8 images and a captions.jsonl naming them relative to itself."""
    (root / "imgs").mkdir(parents=True)
    records = []
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0), (0, 0, 255)]):
        Image.new("RGB", (8, 8), colour).save(root / "imgs" / f"{i}.png")
        records.append({"image": f"imgs/{i}.png", "caption": f"a {['red', 'green', 'blue'][i]} square"})
    records.append({"image": "imgs/gone.png", "caption": "missing"})
    return write_jsonl(root / "captions.jsonl", records)


TINY_CAPTIONS = """\
tokenizer: bytes
dims: {B: 3, T: 24}
batch:
  tokens: {shape: [B, T], dtype: int32}
  image: {shape: [B, 8, 8, 3], dtype: float32}
pathways:
  text: {type: token_embedding, config: {vocab_size: 259, width: 32}, inputs: {tokens: batch.tokens}}
  image:
    type: vit_encoder
    config: {image_size: [8, 8], channels: 3, patch: 4, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
    inputs: {images: batch.image}
  fusion: {type: early_fusion, config: {width: 32}, inputs: {prefix: [image.tokens], text: text.embeddings, text_mask: text.mask}}
  decoder:
    type: gemma_decoder
    config: {width: 32, depth: 1, heads: 2, kv_heads: 1, head_dim: 16, mlp_dim: 64}
    inputs: {x: fusion.x, mask: fusion.mask, positions: fusion.positions}
  lm_head: {type: lm_head, config: {vocab_size: 259, width: 32, tied: true}, inputs: {x: decoder.x, embedding: text.table}}
data:
  dataset: jsonl
  config: {path: data/captions.jsonl, images: [image]}
  fields: {tokens: caption, image: image}
train:
  steps: 1
  losses: [{type: next_token, logits: lm_head.logits, targets: batch.tokens}]
"""


def test_an_image_caption_folder_feeds_image_batches(tmp_path):
    import jax

    from pathways.data import Batcher

    image_caption_folder(tmp_path / "data")
    ds = open_dataset("jsonl", {"path": "data/captions.jsonl", "images": ["image"]}, base_dir=tmp_path)
    spec = {"image": jax.ShapeDtypeStruct((3, 8, 8, 3), np.float32)}
    batch = Batcher(ds, spec, {"image": "image"}, None).collate([ds[i] for i in range(3)])
    np.testing.assert_allclose(batch["image"][:, 0, 0], np.eye(3), atol=1e-6)  # red, green, blue, in [0, 1]
    with pytest.raises(ConfigError) as exc:  # the record naming a missing image: one error naming the file
        Batcher(ds, {"image": jax.ShapeDtypeStruct((1, 8, 8, 3), np.float32)}, {"image": "image"}, None).collate([ds[3]], [3])
    (problem,) = exc.value.problems
    assert "gone.png" in str(problem) and "batch.image" in str(problem) and "record 3" in str(problem)


def test_a_config_trains_on_files_beside_it(capsys, tmp_path):
    captions = image_caption_folder(tmp_path / "data")
    captions.write_text("\n".join(captions.read_text().splitlines()[:3]) + "\n")  # the three images that exist
    (tmp_path / "c.yaml").write_text(TINY_CAPTIONS)
    assert main(["train", str(tmp_path / "c.yaml"), "--out", str(tmp_path / "run")]) == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "checkpoints").is_dir()


def test_data_list_says_file_datasets_need_a_path(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "jsonl" in out and "your files (config: path)" in out
