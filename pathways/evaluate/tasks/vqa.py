"""Visual question answering on easy-VQA (test split), as examples/vqa.yaml trains it: "question answer"."""

from __future__ import annotations

import itertools

from pathways._markers import hookimpl
from pathways.data.easy_vqa import ANSWERS, EasyVQA
from pathways.evaluate._metrics import exact_match
from pathways.evaluate._task import Task


class VQA(Task):
    """easy-VQA: generate the one-word answer (exact match) and pick it among all 13 answers (multiple choice).

    The prompt is the question ("what color is the shape?"), the target its answer
    ("blue"); the multiple choice scores every answer of the vocabulary (3 shapes,
    8 colours, yes/no) as a continuation. 9,673 questions on 1,000 images.
    """

    type_name = "vqa"
    kind = "generation"
    also = ("multiple_choice",)
    needs = frozenset({"image"})
    metrics = {"exact_match": exact_match}
    max_new_tokens = 12

    def examples(self, limit):
        data = EasyVQA(EasyVQA.Config(split="test"))
        for i in itertools.islice(range(len(data)), limit):
            r = data[i]
            yield {"prompt": r["question"], "target": r["answer"], "choices": list(ANSWERS), "answer": r["answer_id"], "image": r["image"]}


@hookimpl
def pathways_register_tasks():
    return [VQA]
