"""scikit-learn's bundled handwritten digits (UCI, 1797 images of 8x8), with English captions (built-in plugin)."""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from pathways._markers import hookimpl
from pathways.data._dataset import Dataset, DatasetConfig

NAMES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@functools.cache
def _load() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits  # ships with scikit-learn: no download

    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[..., None]  # [N, 8, 8, 1] in [0, 1]
    return images, digits.target.astype(np.int32)


class Digits(Dataset):
    """Handwritten digits with captions such as "a handwritten seven".

    Records: `image [8, 8, 1] float32` in [0, 1], `label` (0-9), `text` (the caption).
    Splits: `train` (first 80%, 1437 images) and `test` (last 20%, 360 images).
    """

    type_name = "digits"
    fields = {"image": "[8, 8, 1] float32 in [0, 1]", "label": "int, the digit", "text": "caption naming the digit"}

    class Config(DatasetConfig):
        split: Literal["train", "test"] = "train"
        template: str = "a handwritten {name}"

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        images, labels = _load()
        cut = int(len(images) * 0.8)
        part = slice(None, cut) if cfg.split == "train" else slice(cut, None)
        self.images, self.labels = images[part], labels[part]

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        label = int(self.labels[index])
        return {"image": self.images[index], "label": label, "text": self.cfg.template.format(name=NAMES[label], digit=label)}


@hookimpl
def pathways_register_datasets():
    return [Digits]
