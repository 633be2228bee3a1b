"""Users' own Parquet files (built-in plugin; needs pyarrow: `pip install 'pathways[data]'`).

    data:
      dataset: parquet
      config: {path: data/train-*.parquet, images: [image]}
      fields: {tokens: caption, image: image}

`path` is a file, a list or a glob relative to the config's folder, as for `jsonl`.
Records are rows, fields are columns (checked against the files' schema when the
dataset opens); rows are read on demand, one row group at a time, so only the row
group being read is in memory. Columns named in `images` hold encoded image bytes, a
Hugging Face `Image` struct (`{bytes, path}`) or a path relative to the data file; the
batcher decodes them for image batch fields.
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import pydantic

from pathways._errors import ConfigError, Problem
from pathways._markers import hookimpl
from pathways.data._dataset import Dataset
from pathways.data.user_files import FileDatasetConfig, ImageBytes, ImagePath, expand


def _pyarrow():
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError([Problem("data.dataset", "parquet files need pyarrow: pip install 'pathways[data]'")]) from None
    return pq


class ParquetDataset(Dataset):
    """One record per row of Parquet files; fields are the columns."""

    type_name = "parquet"
    fields: dict[str, str] = {}  # none declared: the files' columns, once they are opened

    class Config(FileDatasetConfig):
        images: list[str] = pydantic.Field([], description="columns holding images: encoded bytes, an HF Image struct {bytes, path}, or a path relative to the file")

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        pq = _pyarrow()
        self.files = expand(cfg.path, cfg.base_dir)
        self._readers, self._groups, self._starts = [], [], []  # per row group: (file number, group), first row
        columns, problems, total = None, [], 0
        for n, file in enumerate(self.files):
            try:
                reader = pq.ParquetFile(file)
            except Exception as exc:  # pyarrow raises ArrowInvalid and friends, with the reason in the message
                problems.append(Problem("", f"not a Parquet file: {str(exc).splitlines()[0]}", str(file)))
                continue
            names = reader.schema_arrow.names
            if columns is None:
                columns = names
            elif names != columns:
                problems.append(Problem("", f"columns {names} differ from {self.files[0]}'s {columns}", str(file)))
            self._readers.append(reader)
            for g in range(reader.num_row_groups):
                self._groups.append((n, g))
                self._starts.append(total)
                total += reader.metadata.row_group(g).num_rows
        if problems:
            raise ConfigError(problems)
        self._len = total
        if total == 0:
            raise ConfigError([Problem("path", f"{', '.join(map(str, self.files))}: no rows")])
        missing = [c for c in cfg.images if c not in columns]
        if missing:
            raise ConfigError([Problem("images", f"no column {c!r} (columns: {', '.join(columns)})") for c in missing])
        self.fields = {c: str(self._readers[0].schema_arrow.field(c).type) for c in columns}
        self._cached: tuple[int, list[dict]] | None = None

    def __len__(self) -> int:
        return self._len

    def _group(self, k: int) -> list[dict]:
        if self._cached is None or self._cached[0] != k:
            n, g = self._groups[k]
            self._cached = (k, self._readers[n].read_row_group(g).to_pylist())
        return self._cached[1]

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < self._len:
            raise IndexError(index)
        k = bisect.bisect_right(self._starts, index) - 1
        record = dict(self._group(k)[index - self._starts[k]])
        n = self._groups[k][0]
        for column in self.cfg.images:
            record[column] = _image(record.get(column), self.files[n], index)
        return record


def _image(value, file: Path, index: int):
    """An image cell as the batcher decodes it: bytes, or a path relative to the data file."""
    if isinstance(value, dict):  # Hugging Face `Image` feature: {"bytes": ..., "path": ...}
        value = value.get("bytes") or value.get("path")
    if isinstance(value, (bytes, bytearray)):
        return ImageBytes(bytes(value), f"{file}: row {index}")
    if isinstance(value, str):
        return ImagePath(file.parent / value)
    return value


@hookimpl
def pathways_register_datasets():
    return [ParquetDataset]
