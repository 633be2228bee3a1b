"""The dataset contract: a map-style collection of records, registered through a plugin hook."""

from __future__ import annotations

import abc
from typing import Any, ClassVar

import pydantic


class DatasetConfig(pydantic.BaseModel):
    """Base for dataset configs: unknown fields are errors."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    split: str = "train"


class Dataset(abc.ABC):
    """Records addressable by index, so that any position in a run can be resumed exactly.

    Subclasses set `type_name` (the name configs use), `Config` (a `DatasetConfig`),
    `fields` (record field -> one-line description), and implement `__len__` and
    `__getitem__`, which returns a dict of NumPy arrays, ints and strings.
    """

    type_name: ClassVar[str]
    Config: ClassVar[type[DatasetConfig]] = DatasetConfig
    fields: ClassVar[dict[str, str]]

    def __init__(self, cfg: DatasetConfig):
        self.cfg = cfg

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def __getitem__(self, index: int) -> dict[str, Any]: ...
