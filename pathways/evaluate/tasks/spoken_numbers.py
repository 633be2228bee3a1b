"""Spoken numbers (test split: new voices), as examples/spoken_numbers.yaml trains it."""

from __future__ import annotations

import itertools

from pathways._markers import hookimpl
from pathways.data.spoken_numbers import SpokenNumbers
from pathways.evaluate._metrics import exact_match
from pathways.evaluate._task import Task


class SpokenNumbersTask(Task):
    """Write the spoken words from the audio alone ("dix-sept"; exact match), and name the number with a 21-way classifier head where the model has one.

    The prompt is empty: the decoder writes the words after the audio prefix, as
    in training. 60 held-out clips in five languages.
    """

    type_name = "spoken_numbers"
    kind = "generation"
    also = ("classification",)
    needs = frozenset({"audio"})
    metrics = {"exact_match": exact_match}
    max_new_tokens = 32
    num_classes = 21

    def examples(self, limit):
        data = SpokenNumbers(SpokenNumbers.Config(split="test"))
        for i in itertools.islice(range(len(data)), limit):
            r = data[i]
            yield {"prompt": "", "target": r["text"], "label": r["label"], "audio": r["audio"], "audio_mask": r["audio_mask"]}


@hookimpl
def pathways_register_tasks():
    return [SpokenNumbersTask]
