"""Users' own Parquet files: rows as records across files and row groups, images as bytes or HF Image structs."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml

from pathways._errors import ConfigError
from pathways.cli import main
from pathways.data import Batcher, open_dataset

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")

ROOT = Path(__file__).resolve().parents[2]
OWN = ROOT / "examples" / "own_data"


def captions(n: int | None = None) -> list[dict]:
    rows = [json.loads(line) for line in (OWN / "captions.jsonl").read_text().splitlines()]
    return rows[:n] if n else rows


def write(path: Path, rows: list[dict], row_group_size: int = 5) -> Path:
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)
    return path


def test_rows_are_records_in_file_and_row_group_order(tmp_path):
    rows = [{"caption": r["caption"], "n": i} for i, r in enumerate(captions())]
    write(tmp_path / "a.parquet", rows[:13])
    write(tmp_path / "b.parquet", rows[13:])
    ds = open_dataset("parquet", {"path": "*.parquet"}, base_dir=tmp_path)
    assert len(ds) == len(rows) and [ds[i] for i in (0, 4, 5, 12, 13, 23)] == [rows[i] for i in (0, 4, 5, 12, 13, 23)]
    assert set(ds.fields) == {"caption", "n"}


def test_image_cells_decode_from_bytes_hf_structs_and_relative_paths(tmp_path):
    raw = [(OWN / r["image"]).read_bytes() for r in captions(3)]
    rows = [
        {"image": raw[0], "caption": "bytes"},
        {"image": raw[1], "caption": "bytes again"},
    ]
    write(tmp_path / "bytes.parquet", rows)
    write(tmp_path / "struct.parquet", [{"image": {"bytes": raw[2], "path": None}, "caption": "struct"}])
    spec = {"image": jax.ShapeDtypeStruct((3, 32, 32, 3), np.float32)}
    ds = open_dataset("parquet", {"path": ["bytes.parquet", "struct.parquet"], "images": ["image"]}, base_dir=tmp_path)
    batch = Batcher(ds, spec, {"image": "image"}, None).collate([ds[i] for i in range(3)])
    from pathways.components import load_image

    expected = np.stack([load_image(OWN / r["image"], 32, 32, 3) for r in captions(3)])
    np.testing.assert_array_equal(batch["image"], expected)

    import shutil

    shutil.copytree(OWN / "images", tmp_path / "images")
    write(tmp_path / "paths.parquet", [{"image": r["image"], "caption": r["caption"]} for r in captions(3)])
    ds = open_dataset("parquet", {"path": "paths.parquet", "images": ["image"]}, base_dir=tmp_path)
    np.testing.assert_array_equal(Batcher(ds, spec, {"image": "image"}, None).collate([ds[i] for i in range(3)])["image"], expected)


def test_bad_files_and_cells_are_one_line_each_naming_them(tmp_path):
    (tmp_path / "not.parquet").write_text("hello")
    write(tmp_path / "other.parquet", [{"x": 1}])
    write(tmp_path / "ok.parquet", [{"caption": "a"}])
    with pytest.raises(ConfigError) as exc:
        open_dataset("parquet", {"path": ["ok.parquet", "not.parquet", "other.parquet"]}, base_dir=tmp_path)
    said = [str(p) for p in exc.value.problems]
    assert len(said) == 2 and "not.parquet" in said[0] and "not a Parquet file" in said[0]
    assert "other.parquet" in said[1] and "columns ['x'] differ" in said[1]

    pq.write_table(pa.table({"caption": pa.array([], pa.string())}), tmp_path / "empty.parquet")
    with pytest.raises(ConfigError, match="no rows"):
        open_dataset("parquet", {"path": "empty.parquet"}, base_dir=tmp_path)
    with pytest.raises(ConfigError, match=r"images: no column 'picture'"):
        open_dataset("parquet", {"path": "ok.parquet", "images": ["picture"]}, base_dir=tmp_path)

    write(tmp_path / "broken.parquet", [{"image": b"not an image", "caption": "x"}])
    ds = open_dataset("parquet", {"path": "broken.parquet", "images": ["image"]}, base_dir=tmp_path)
    with pytest.raises(ConfigError) as exc:
        Batcher(ds, {"image": jax.ShapeDtypeStruct((1, 8, 8, 3), np.float32)}, {"image": "image"}, None).collate([ds[0]], [0])
    (problem,) = exc.value.problems
    assert problem.file == f"{tmp_path / 'broken.parquet'}: row 0" and "cannot decode as an image" in problem.message


def test_the_caption_example_trains_on_a_parquet_copy_of_its_folder(tmp_path):
    rows = [{"image": (OWN / r["image"]).read_bytes(), "caption": r["caption"]} for r in captions()]
    write(tmp_path / "captions.parquet", rows, row_group_size=8)
    cfg = yaml.safe_load((ROOT / "examples/own_captions.yaml").read_text())
    cfg["data"] = {"dataset": "parquet", "config": {"path": str(tmp_path / "captions.parquet"), "images": ["image"]}, "fields": {"tokens": "caption", "image": "image"}}
    cfg["train"].update(steps=2, log_every=1, checkpoint_every=2)
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    assert main(["train", str(tmp_path / "cfg.yaml"), "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run/checkpoints/step-00000002").is_dir()
