"""Hugging Face `datasets` on local files (built-in plugin; needs `pip install 'pathways[data]'`).

    data:
      dataset: hf
      config: {path: saved/vqa}                    # a directory written by save_to_disk
      # or: {builder: imagefolder, data_files: "photos/**"}   # local files through load_dataset
      fields: {tokens: caption, image: image}

`path` and `data_files` are relative to the config file's folder. Nothing is downloaded
at run time: the hub is switched off (`HF_DATASETS_OFFLINE`, `HF_HUB_OFFLINE`), and a
name that would need it is an error that says so. Records are the dataset's rows;
`Image` features are read undecoded (bytes or a path) and decoded by the batcher for
image batch fields, so a row costs no decoding until it is batched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import pydantic

from pathways._errors import ConfigError, Problem
from pathways._markers import hookimpl
from pathways.data._dataset import Dataset
from pathways.data.user_files import ImageBytes, ImagePath, RelativePathsConfig

BUILDERS = ("json", "csv", "parquet", "text", "arrow", "imagefolder", "audiofolder")
HUB = "nothing is downloaded at run time: load it once where the hub is reachable, `save_to_disk(DIR)`, and give `path: DIR`"


class HFConfig(RelativePathsConfig):
    path: str | None = pydantic.Field(None, description="a directory written by `Dataset.save_to_disk` / `DatasetDict.save_to_disk`")
    builder: Literal[BUILDERS] | None = pydantic.Field(None, description="a packaged builder for local files: " + ", ".join(BUILDERS))
    data_files: str | list[str] | dict[str, str | list[str]] | None = pydantic.Field(None, description="files or globs for `builder` (a dict maps splits to them)")
    cache_dir: str | None = pydantic.Field(None, description="where load_dataset keeps its Arrow cache (default: Hugging Face's)")

    @pydantic.model_validator(mode="before")
    @classmethod
    def _hub(cls, data: Any):
        if isinstance(data, dict) and isinstance(data.get("builder"), str) and data["builder"] not in BUILDERS:
            raise ValueError(f"{data['builder']!r} is not a local builder ({', '.join(BUILDERS)}): a dataset named on the hub would be downloaded, and {HUB}")
        return data

    @pydantic.model_validator(mode="after")
    def _one_source(self):
        if (self.path is None) == (self.builder is None):
            raise ValueError("give `path` (a save_to_disk directory) or `builder` with `data_files`")
        if self.builder is not None and self.data_files is None:
            raise ValueError(f"builder {self.builder!r} reads `data_files`: name the files")
        return self


class HFDataset(Dataset):
    """A Hugging Face `datasets.Dataset` from a save_to_disk directory or local files; fields are its features."""

    type_name = "hf"
    fields: dict[str, str] = {}  # none declared: the dataset's features, once it is opened
    Config = HFConfig

    def __init__(self, cfg: HFConfig):
        super().__init__(cfg)
        os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import datasets
        except ImportError:
            raise ConfigError([Problem("dataset", "dataset: hf needs Hugging Face datasets: pip install 'pathways[data]'")]) from None
        base = Path(cfg.base_dir or ".")
        if cfg.path is not None:
            folder = Path(cfg.path) if Path(cfg.path).is_absolute() else base / cfg.path
            if not folder.is_dir():
                raise ConfigError([Problem("path", f"{cfg.path!r} is not a directory (looked in {base.resolve()}); a hub name is not read: {HUB}")])
            try:
                ds = datasets.load_from_disk(str(folder))
            except FileNotFoundError as exc:
                raise ConfigError([Problem("path", f"not a save_to_disk directory: {exc}", str(folder))]) from None
        else:
            ds = self._load(datasets, base)
        if isinstance(ds, datasets.DatasetDict):
            if cfg.split not in ds:
                raise ConfigError([Problem("split", f"no split {cfg.split!r} (splits: {', '.join(ds)})")])
            ds = ds[cfg.split]
        if len(ds) == 0:
            raise ConfigError([Problem("path" if cfg.path else "data_files", "the dataset has no rows")])
        self.images = [name for name, f in ds.features.items() if isinstance(f, datasets.Image)]
        for name in self.images:  # read bytes/paths, decode when batched
            ds = ds.cast_column(name, datasets.Image(decode=False))
        self.ds = ds
        self.fields = {name: type(f).__name__ for name, f in ds.features.items()}

    def _load(self, datasets, base: Path):
        cfg = self.cfg

        def resolve(files):
            if isinstance(files, dict):
                return {k: resolve(v) for k, v in files.items()}
            if isinstance(files, list):
                return [resolve(f) for f in files]
            return files if Path(files).is_absolute() else str(base / files)

        try:
            return datasets.load_dataset(cfg.builder, data_files=resolve(cfg.data_files), split=None, cache_dir=cfg.cache_dir)
        except FileNotFoundError as exc:
            raise ConfigError([Problem("data_files", f"{str(exc).splitlines()[0]} (looked in {base.resolve()})")]) from None

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = dict(self.ds[int(index)])
        for name in self.images:
            cell = record.get(name) or {}
            if cell.get("bytes"):
                record[name] = ImageBytes(cell["bytes"], f"{self.cfg.path or 'data_files'}: row {index}")
            elif cell.get("path"):
                record[name] = ImagePath(cell["path"])
        return record


@hookimpl
def pathways_register_datasets():
    return [HFDataset]
