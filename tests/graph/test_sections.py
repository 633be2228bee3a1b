"""`validate` checks the `data` section without opening the dataset, and a mesh against this machine's devices.

Layouts on several devices are tested in tests/parallel/test_validate_mesh.py.
"""

from __future__ import annotations

import jax
import pytest

import pathways
from pathways import ConfigError
from pathways.cli import main

CONFIG = """\
dims: {B: 2}
batch:
  image: {shape: [B, 8, 8, 1], dtype: float32}
  label: {shape: [B], dtype: int32}
pathways:
  image:
    type: vit_encoder
    config: {image_size: [8, 8], channels: 1, patch: 4, width: 8, depth: 1, heads: 2, mlp_dim: 16, out_dim: 8}
    inputs: {images: batch.image}
data:
  dataset: digits
  config: {split: train}
  fields: {image: image, label: label}
"""


def errors(write_yaml, text: str) -> list[str]:
    path = write_yaml(text)
    with pytest.raises(ConfigError) as err:
        pathways.validate(path)
    return [str(p).removeprefix(f"{path}:") for p in err.value.problems]


def test_a_valid_data_section_validates_without_reading_records(write_yaml, monkeypatch):
    import pathways.data.digits as digits

    def no_records():
        raise AssertionError("validate read the dataset")

    monkeypatch.setattr(digits, "_load", no_records)
    graph = pathways.validate(write_yaml(CONFIG))
    assert set(graph.batch) == {"image", "label"}


def test_unknown_dataset_suggests_the_closest(write_yaml):
    (msg,) = errors(write_yaml, CONFIG.replace("dataset: digits", "dataset: digit"))
    assert msg.startswith("11:3: data.dataset: unknown dataset type 'digit'; did you mean 'digits'?")


def test_dataset_config_is_validated_by_the_datasets_own_model(write_yaml):
    msgs = errors(write_yaml, CONFIG.replace("config: {split: train}", "config: {split: dev, colour: red}\n  eval_config: {split: tst}"))
    assert msgs == [
        "12:12: data.config.split: Input should be 'train' or 'test' (got 'dev')",
        "12:24: data.config.colour: unknown field 'colour' (fields: split, template)",
        "13:17: data.eval_config.split: Input should be 'train' or 'test' (got 'tst')",
    ]


def test_fields_must_be_batch_fields_fed_by_record_fields(write_yaml):
    msgs = errors(write_yaml, CONFIG.replace("fields: {image: image, label: label}", "fields: {image: img, labels: label}"))
    assert msgs == [
        "13:3: data.fields.label: batch field 'label' has no source: map it to one of image, label, text",
        "13:12: data.fields.image: dataset 'digits' has no field 'img' (fields: image, label, text)",
        "13:24: data.fields.labels: 'labels' is not a batch field (fields: image, label)",
    ]


def test_a_mesh_larger_than_this_machine_is_an_error(write_yaml, capsys):
    n = jax.device_count()
    path = write_yaml(CONFIG + f"mesh: {{axes: {{data: {2 * n}}}}}\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {path}:14:8: mesh.axes: data={2 * n} x fsdp=1 x tensor=1 = {2 * n} devices, but {n} are available\n"


@pytest.mark.parametrize("dtype", ["object", "<U3", "V8", "datetime64", "(2,)i4"])
def test_batch_dtypes_are_number_types(write_yaml, dtype):
    (msg,) = errors(write_yaml, CONFIG.replace("dtype: int32", f"dtype: '{dtype}'"))
    assert msg.startswith("4:23: batch.label.dtype: unknown dtype") and "a batch field is bool or a number type" in msg
