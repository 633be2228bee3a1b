"""Hugging Face `datasets` interop: save_to_disk directories and local files, Image features, no hub at run time."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jax
import numpy as np
import pytest

from pathways._errors import ConfigError
from pathways.components import load_image
from pathways.data import Batcher, open_dataset

datasets = pytest.importorskip("datasets")

ROOT = Path(__file__).resolve().parents[2]
OWN = ROOT / "examples" / "own_data"
CAPTIONS = [json.loads(line) for line in (OWN / "captions.jsonl").read_text().splitlines()]
SPEC = {"image": jax.ShapeDtypeStruct((4, 32, 32, 3), np.float32)}


def expected_images(rows) -> np.ndarray:
    return np.stack([load_image(OWN / r["image"], 32, 32, 3) for r in rows])


def test_a_save_to_disk_directory_with_image_features_reads_and_batches(tmp_path):
    rows = CAPTIONS[:8]
    features = datasets.Features({"image": datasets.Image(), "caption": datasets.Value("string")})
    train = datasets.Dataset.from_dict({"image": [str(OWN / r["image"]) for r in rows], "caption": [r["caption"] for r in rows]}, features=features)
    test = train.select(range(2))
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "saved"))
    ds = open_dataset("hf", {"path": "saved"}, base_dir=tmp_path)
    assert len(ds) == 8 and set(ds.fields) == {"image", "caption"} and ds[3]["caption"] == rows[3]["caption"]
    batch = Batcher(ds, SPEC, {"image": "image"}, None).collate([ds[i] for i in range(4)])
    np.testing.assert_array_equal(batch["image"], expected_images(rows[:4]))
    assert len(open_dataset("hf", {"path": "saved", "split": "test"}, base_dir=tmp_path)) == 2
    with pytest.raises(ConfigError, match=r"split: no split 'validation' \(splits: train, test\)"):
        open_dataset("hf", {"path": "saved", "split": "validation"}, base_dir=tmp_path)


def test_local_files_through_load_dataset_json_and_imagefolder(tmp_path):
    ds = open_dataset("hf", {"builder": "json", "data_files": str(OWN / "chats.jsonl"), "cache_dir": str(tmp_path / "cache")})
    first = json.loads((OWN / "chats.jsonl").read_text().splitlines()[0])
    assert len(ds) == 76 and ds[0]["messages"] == first["messages"]

    folder = tmp_path / "photos"
    folder.mkdir()
    for r in CAPTIONS[:4]:
        shutil.copy(OWN / r["image"], folder / Path(r["image"]).name)
    (folder / "metadata.jsonl").write_text("".join(json.dumps({"file_name": Path(r["image"]).name, "caption": r["caption"]}) + "\n" for r in CAPTIONS[:4]))
    ds = open_dataset("hf", {"builder": "imagefolder", "data_files": "photos/**", "cache_dir": str(tmp_path / "cache")}, base_dir=tmp_path)
    assert len(ds) == 4 and set(ds.fields) >= {"image", "caption"}
    order = [next(i for i, r in enumerate(CAPTIONS) if r["caption"] == ds[k]["caption"]) for k in range(4)]
    batch = Batcher(ds, SPEC, {"image": "image"}, None).collate([ds[i] for i in range(4)])
    np.testing.assert_array_equal(batch["image"], expected_images([CAPTIONS[i] for i in order]))


@pytest.mark.parametrize(
    "config, said",
    [
        ({"builder": "squad", "data_files": "x"}, "'squad' is not a local builder"),
        ({"path": "squad"}, "path: 'squad' is not a directory"),
        ({"builder": "json"}, "builder 'json' reads `data_files`"),
        ({"path": "a", "builder": "json", "data_files": "b"}, "give `path` (a save_to_disk directory) or `builder`"),
    ],
)
def test_what_would_need_the_hub_or_is_incomplete_is_one_line(tmp_path, config, said):
    with pytest.raises(ConfigError) as exc:
        open_dataset("hf", config, base_dir=tmp_path)
    assert len(exc.value.problems) == 1 and said in str(exc.value)
    if "squad" in said:
        assert "nothing is downloaded at run time" in str(exc.value)
