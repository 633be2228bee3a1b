"""Digit captions (digits test split), as examples/digits.yaml trains them: does the caption name the right digit?"""

from __future__ import annotations

import itertools
import re

from pathways._markers import hookimpl
from pathways.data.digits import NAMES, Digits
from pathways.evaluate._task import Task

_WORD = re.compile(r"[a-z]+|[0-9]")


def named_digit(text: str) -> str | None:
    """The first digit a caption names, as a word ("seven" or "7" -> "seven"); None if it names none."""
    for w in _WORD.findall(text.lower()):
        if w in NAMES:
            return w
        if w.isdigit():
            return NAMES[int(w)]
    return None


def names_digit(predictions: list[str], references: list[list[str]]) -> float:
    """Fraction of captions whose first named digit is the reference's."""
    return sum(named_digit(p) == refs[0] for p, refs in zip(predictions, references)) / len(predictions)


class DigitsCaption(Task):
    """Caption a handwritten digit from the image alone, then check the digit it names (360 test images).

    The prompt is empty: the model writes the whole caption ("a handwritten
    seven"), so any caption template works; the first digit named, as a word or a
    numeral, must be the right one.
    """

    type_name = "digits_caption"
    kind = "generation"
    needs = frozenset({"image"})
    metrics = {"names_digit": names_digit}
    max_new_tokens = 24

    def examples(self, limit):
        data = Digits(Digits.Config(split="test"))
        for i in itertools.islice(range(len(data)), limit):
            r = data[i]
            yield {"prompt": "", "target": NAMES[r["label"]], "image": r["image"]}


@hookimpl
def pathways_register_tasks():
    return [DigitsCaption]
