"""easy-VQA: 64x64 images of one coloured shape with questions and one-word answers (built-in plugin).

Images and questions ship inside the `easy-vqa` package (Victor Zhou, MIT);
PNGs are decoded with Pillow the first time each is read, then kept in memory.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

import numpy as np

from pathways._markers import hookimpl
from pathways.data._dataset import Dataset, DatasetConfig

# The answer vocabulary, in the order of easy_vqa.get_answers(): `answer_id` indexes it.
ANSWERS = ("circle", "green", "red", "gray", "yes", "teal", "black", "rectangle", "yellow", "triangle", "brown", "blue", "no")


@functools.cache
def _questions(split: str) -> tuple[list[str], list[str], list[int], dict[int, str]]:
    import easy_vqa  # ships its data: no download

    if tuple(easy_vqa.get_answers()) != ANSWERS:
        raise RuntimeError(f"easy-vqa's answers changed: {easy_vqa.get_answers()} (expected {list(ANSWERS)})")
    if split == "train":
        questions, answers, image_ids = easy_vqa.get_train_questions()
        paths = easy_vqa.get_train_image_paths()
    else:
        questions, answers, image_ids = easy_vqa.get_test_questions()
        paths = easy_vqa.get_test_image_paths()
    return questions, answers, image_ids, paths


@functools.cache
def _image(path: str) -> np.ndarray:
    """One decoded image, `[64, 64, 3] uint8` (a quarter of float32's memory: 48 MB for all of train)."""
    from PIL import Image

    with Image.open(Path(path)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


class EasyVQA(Dataset):
    """Visual questions about one shape: "what color is the shape?" -> "blue".

    Records: `image [64, 64, 3] float32` in [0, 1], `question`, `answer` (one
    word), `answer_id` (index into `ANSWERS`: 3 shapes, 8 colours, yes/no) and
    `text` ("what color is the shape? blue", for language-model training).
    Splits as the package gives them: `train` (38,575 questions on 4,000 images)
    and `test` (9,673 questions on 1,000 images).
    """

    type_name = "easy_vqa"
    answers = ANSWERS
    fields = {
        "image": "[64, 64, 3] float32 in [0, 1]",
        "question": "the question, e.g. 'what shape is in the image?'",
        "answer": "one-word answer, e.g. 'circle'",
        "answer_id": f"int, index of the answer in {list(ANSWERS)}",
        "text": "question and answer, e.g. 'what shape is in the image? circle'",
    }

    class Config(DatasetConfig):
        split: Literal["train", "test"] = "train"

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.questions, self.answer_words, self.image_ids, self.paths = _questions(cfg.split)

    def __len__(self) -> int:
        return len(self.questions)

    def __getitem__(self, index: int):
        question, answer = self.questions[index], self.answer_words[index]
        image = _image(self.paths[self.image_ids[index]]).astype(np.float32) / 255.0  # [64, 64, 3]
        return {"image": image, "question": question, "answer": answer, "answer_id": ANSWERS.index(answer), "text": f"{question} {answer}"}


@hookimpl
def pathways_register_datasets():
    return [EasyVQA]
