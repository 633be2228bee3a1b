"""Users' own data: JSON Lines and plain-text files (built-in plugin).

    data:
      dataset: jsonl
      config: {path: data/captions.jsonl, images: [image]}
      fields: {tokens: caption, image: image}

`path` is a file, a list of files or a glob (`data/*.jsonl.gz`), relative to the
folder of the config file that names it. JSON Lines may be plain, `.gz` or `.zst`;
every line is one JSON object. Files are indexed once when the dataset opens (byte
offsets for plain files, so records are read from disk on demand; compressed files
are decompressed into memory), and every line is parsed then, so a malformed line
is an error naming file and line before training starts (or, with `on_error: skip`,
counted, reported and left out). Fields named in `images` hold image paths relative
to the data file; the batcher decodes them for image batch fields.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import warnings
from pathlib import Path
from typing import Any, Literal

import pydantic

from pathways._errors import ConfigError, Problem
from pathways._markers import hookimpl
from pathways.data._dataset import Dataset, DatasetConfig


class DataFileWarning(UserWarning):
    """Records skipped with `on_error: skip`."""


def expand(path: str | list[str], base_dir: str | Path | None) -> list[Path]:
    """The files `path` names (globs expanded, sorted), relative to `base_dir`; a problem per pattern matching nothing."""
    base = Path(base_dir or ".")
    patterns = [path] if isinstance(path, str) else list(path)
    files, problems = [], []
    for i, pattern in enumerate(patterns):
        where = "path" if isinstance(path, str) else f"path.{i}"
        full = Path(pattern) if Path(pattern).is_absolute() else base / pattern
        matches = sorted(Path(p) for p in glob.glob(str(full), recursive=True)) if glob.has_magic(str(full)) else [full]
        matches = [m for m in matches if m.is_file()]
        if not matches:
            why = "matches no file" if glob.has_magic(str(full)) else "is not a file"
            problems.append(Problem(where, f"{pattern!r} {why} (looked in {base.resolve()})"))
        files += matches
    if problems:
        raise ConfigError(problems)
    return files


def _open_text(file: Path) -> io.TextIOBase:
    if file.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(file, "rb"), encoding="utf-8")
    if file.suffix == ".zst":
        import zstandard

        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(file, "rb")), encoding="utf-8")
    return open(file, encoding="utf-8")


class RelativePathsConfig(DatasetConfig):
    """A dataset config whose paths are relative to the folder of the config file naming them (`base_dir`, set by Pathways)."""

    base_dir: str | None = pydantic.Field(None, description="set by Pathways: the folder paths are relative to")

    @pydantic.model_validator(mode="before")
    @classmethod
    def _base(cls, data: Any, info: pydantic.ValidationInfo):
        if isinstance(data, dict) and "base_dir" not in data and info.context and info.context.get("base_dir") is not None:
            data = {**data, "base_dir": str(info.context["base_dir"])}
        return data


class FileDatasetConfig(RelativePathsConfig):
    path: str | list[str] = pydantic.Field(description="a file, a list of files or a glob, relative to the config file's folder")


class JsonlDataset(Dataset):
    """One record per line of JSON Lines files (plain, `.gz`, `.zst`).

    Record fields are the JSON object's keys (those of the first record; every
    record must have the fields a config maps). Fields listed in `images` are
    image paths, resolved against the data file's folder.
    """

    type_name = "jsonl"
    fields: dict[str, str] = {}  # none declared: the first record's keys, once the files are opened

    class Config(FileDatasetConfig):
        images: list[str] = pydantic.Field([], description="fields holding image paths (relative to the data file)")
        on_error: Literal["raise", "skip"] = pydantic.Field("raise", description="a malformed line: an error naming file and line, or skipped and counted")

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.files = expand(cfg.path, cfg.base_dir)
        self._where: list[tuple[int, int]] = []  # record -> (file number, byte offset) for plain files
        self._rows: list[dict] | None = None  # records of compressed files, in memory
        self.skipped: list[str] = []
        problems: list[Problem] = []
        rows: list[tuple[int, dict]] = []
        for n, file in enumerate(self.files):
            if file.suffix in (".gz", ".zst"):
                with _open_text(file) as f:
                    for line_no, line in enumerate(f, 1):
                        self._parse(line, file, line_no, problems, lambda rec: rows.append((n, rec)))
            else:
                with open(file, "rb") as f:
                    offset = 0
                    for line_no, raw in enumerate(f, 1):
                        self._parse(raw.decode("utf-8", errors="replace"), file, line_no, problems, lambda rec, o=offset: self._where.append((n, o)))
                        offset += len(raw)
        if problems:
            raise ConfigError(problems[:20] + ([Problem("", f"... and {len(problems) - 20} more malformed lines")] if len(problems) > 20 else []))
        if rows and self._where:  # mixed plain and compressed: keep all in memory, in file order
            self._rows = [r for _, r in sorted(rows + [(n, self._read(n, o)) for n, o in self._where], key=lambda t: t[0])]
            self._where = []
        elif rows:
            self._rows = [r for _, r in rows]
        if self.skipped:
            warnings.warn(f"jsonl: skipped {len(self.skipped)} malformed lines (first: {self.skipped[0]})", DataFileWarning, stacklevel=2)
        if len(self) == 0:
            raise ConfigError([Problem("path", f"{', '.join(map(str, self.files))}: no records")])
        first = self[0]
        self.fields = {k: type(v).__name__ for k, v in first.items()}

    def _parse(self, line: str, file: Path, line_no: int, problems: list[Problem], keep) -> None:
        if not line.strip():
            return
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError(f"a JSON {type(record).__name__}, not an object")
        except ValueError as exc:
            message = f"{file}:{line_no}: not a JSON object: {exc}"
            if self.cfg.on_error == "skip":
                self.skipped.append(message)
            else:
                problems.append(Problem("", f"line {line_no} is not a JSON object: {exc}", str(file)))
            return
        keep(record)

    def _read(self, n: int, offset: int) -> dict:
        with open(self.files[n], "rb") as f:
            f.seek(offset)
            return json.loads(f.readline())

    def __len__(self) -> int:
        return len(self._rows) if self._rows is not None else len(self._where)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self._rows is not None:
            record, folder = dict(self._rows[index]), self.files[0].parent
        else:
            n, offset = self._where[index]
            record, folder = self._read(n, offset), self.files[n].parent
        for field in self.cfg.images:
            if field in record and isinstance(record[field], str):
                record[field] = ImagePath(folder / record[field])
        return record


class ImagePath(str):
    """An image file named by a record: the batcher decodes it to an image batch field."""


class ImageBytes(bytes):
    """An encoded image held in a record (a Parquet cell): the batcher decodes it; `where` names it in errors."""

    def __new__(cls, data: bytes, where: str):
        self = super().__new__(cls, data)
        self.where = where
        return self


class TextDataset(Dataset):
    """Plain-text files: one record per file (`unit: file`) or per non-empty line (`unit: line`), field `text`."""

    type_name = "text"
    fields = {"text": "the document (a whole file, or one line)", "source": "the file it came from"}

    class Config(FileDatasetConfig):
        unit: Literal["file", "line"] = "file"

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.records: list[dict[str, str]] = []
        for file in expand(cfg.path, cfg.base_dir):
            with _open_text(file) as f:
                if cfg.unit == "file":
                    self.records.append({"text": f.read(), "source": str(file)})
                else:
                    self.records += [{"text": line.rstrip("\n"), "source": str(file)} for line in f if line.strip()]
        if not self.records:
            raise ConfigError([Problem("path", "the files hold no text")])

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return dict(self.records[index])


@hookimpl
def pathways_register_datasets():
    return [JsonlDataset, TextDataset]
