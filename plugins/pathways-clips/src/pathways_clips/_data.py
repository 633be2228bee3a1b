"""`digit_clips`: three-frame "videos" of handwritten digits (scikit-learn's bundled digits), captioned."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pydantic

from pathways.data import Dataset, DatasetConfig
from pathways.data.digits import NAMES, Digits


class DigitClips(Dataset):
    """Clips of `num_frames` handwritten digits shown one after another, captioned with their names.

    Records: `video [F, 8, 8, 1] float32` in [0, 1], `digits` (the F labels) and
    `text` ("three one four"). Frames of the `train` split come from the digits
    train images only, `test` from the test images only, so no test frame is ever
    trained on. Clip `i` starts with image `i` (every image is used), the other
    frames are drawn with a seed, so the same config gives the same clips.
    """

    type_name = "digit_clips"
    fields = {"video": "[F, 8, 8, 1] float32 in [0, 1]", "digits": "list of F ints", "text": "the digits' names, in order"}

    class Config(DatasetConfig):
        split: Literal["train", "test"] = "train"
        num_frames: pydantic.PositiveInt = 3
        seed: int = 0

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        data = Digits(Digits.Config(split=cfg.split))
        self.images, self.labels = data.images, data.labels
        rng = np.random.default_rng([cfg.seed, cfg.split == "test"])
        rest = rng.integers(0, len(self.images), size=(len(self.images), cfg.num_frames - 1))
        self.order = np.concatenate([np.arange(len(self.images))[:, None], rest], axis=1)  # [N, F] image indices

    def __len__(self) -> int:
        return len(self.order)

    def __getitem__(self, index: int):
        picks = self.order[index]
        digits = [int(self.labels[i]) for i in picks]
        return {"video": self.images[picks], "digits": digits, "text": " ".join(NAMES[d] for d in digits)}
