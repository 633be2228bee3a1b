"""Read safetensors files one tensor at a time with plain file reads.

`safetensors.safe_open` memory-maps the file: every tensor read stays mapped (and
counted in the process's resident memory) until the file is closed, so importing a
checkpoint held it twice, once mapped and once converted. Reading each tensor's bytes
into a fresh array keeps one copy. The format: an 8-byte little-endian header
length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}}` (offsets
into the data after the header), then the data.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

import ml_dtypes
import numpy as np

DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16, "BF16": ml_dtypes.bfloat16, "I64": np.int64, "I32": np.int32,
    "I16": np.int16, "I8": np.int8, "U64": np.uint64, "U32": np.uint32, "U16": np.uint16, "U8": np.uint8, "BOOL": np.bool_,
}


class SafetensorsError(ValueError):
    """Not a safetensors file, or a truncated one."""


class SafetensorsFile:
    """The tensors of one safetensors file: `keys()`, `shape(key)`, `dtype(key)`, `read(key)`."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._file = open(self.path, "rb")
        try:
            size = self.path.stat().st_size
            head = self._file.read(8)
            if len(head) < 8:
                raise SafetensorsError(f"{size} bytes: shorter than a safetensors header")
            (n,) = struct.unpack("<Q", head)
            if n > size - 8:
                raise SafetensorsError(f"header of {n} bytes in a file of {size}")
            try:
                header = json.loads(self._file.read(n))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SafetensorsError(f"header is not JSON: {exc}") from None
            self.metadata = header.pop("__metadata__", None)
            self._data = 8 + n
            self._entries = header
            for key, entry in header.items():
                begin, end = entry["data_offsets"]
                if not 0 <= begin <= end:
                    raise SafetensorsError(f"{key}: data offsets {begin}..{end} are not an interval")
                if entry["dtype"] not in DTYPES:
                    raise SafetensorsError(f"{key}: dtype {entry['dtype']} is not one this reader knows")
                if end - begin != math.prod(entry["shape"]) * np.dtype(DTYPES[entry["dtype"]]).itemsize:
                    raise SafetensorsError(f"{key}: {end - begin} bytes for shape {entry['shape']}")
                if self._data + end > size:
                    raise SafetensorsError(f"{key} ends at byte {self._data + end}, past the end of the file ({size} bytes): truncated")
        except BaseException:
            self._file.close()
            raise

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> SafetensorsFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def keys(self) -> list[str]:
        return list(self._entries)

    def shape(self, key: str) -> tuple[int, ...]:
        return tuple(self._entries[key]["shape"])

    def dtype(self, key: str) -> np.dtype:
        return np.dtype(DTYPES[self._entries[key]["dtype"]])

    def read(self, key: str) -> np.ndarray:
        """A fresh array holding tensor `key` (nothing of the file stays mapped)."""
        entry = self._entries[key]
        begin, end = entry["data_offsets"]
        out = np.empty(entry["shape"], dtype=DTYPES[entry["dtype"]])
        self._file.seek(self._data + begin)
        if self._file.readinto(out.reshape(-1).view(np.uint8)) != end - begin:
            raise SafetensorsError(f"{key}: short read from {self.path}: truncated")
        return out
