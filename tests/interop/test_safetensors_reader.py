"""The plain-read safetensors reader the import uses: the same tensors as safetensors' own, truncation named."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from safetensors.numpy import save_file

from pathways.interop._safetensors import SafetensorsError, SafetensorsFile


def test_reads_what_safetensors_writes(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"a": rng.normal(size=(3, 4)).astype(np.float32), "b": rng.normal(size=(5,)).astype(ml_dtypes.bfloat16), "c": np.arange(4, dtype=np.int64)}
    save_file(tensors, str(tmp_path / "t.safetensors"), metadata={"format": "pt"})
    with SafetensorsFile(tmp_path / "t.safetensors") as f:
        assert sorted(f.keys()) == ["a", "b", "c"] and f.metadata == {"format": "pt"}
        for k, v in tensors.items():
            got = f.read(k)
            assert got.dtype == v.dtype and f.shape(k) == v.shape and np.array_equal(got, v)


def test_a_truncated_file_is_named(tmp_path):
    save_file({"a": np.zeros((64, 64), np.float32)}, str(tmp_path / "t.safetensors"))
    data = (tmp_path / "t.safetensors").read_bytes()
    (tmp_path / "t.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(SafetensorsError, match="past the end of the file.*truncated"):
        SafetensorsFile(tmp_path / "t.safetensors")
    (tmp_path / "t.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(SafetensorsError):
        SafetensorsFile(tmp_path / "t.safetensors")
