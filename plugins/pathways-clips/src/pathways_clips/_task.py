"""`clip_caption`: name the digits of a clip, in order, from the video alone."""

from __future__ import annotations

import itertools

from pathways.data.digits import NAMES
from pathways.evaluate import Task
from pathways_clips._data import DigitClips


def named(text: str) -> list[str]:
    return [w for w in text.lower().split() if w in NAMES]


def digits_in_order(predictions: list[str], references: list[list[str]]) -> float:
    """Fraction of captions naming exactly the reference's digits, in order."""
    return sum(named(p) == named(refs[0]) for p, refs in zip(predictions, references)) / len(predictions)


def digit_accuracy(predictions: list[str], references: list[list[str]]) -> float:
    """Fraction of frames whose digit the caption names at its position."""
    hits = total = 0
    for p, refs in zip(predictions, references):
        want, got = named(refs[0]), named(p)
        hits += sum(a == b for a, b in zip(want, got))
        total += len(want)
    return hits / max(total, 1)


class ClipCaption(Task):
    """Caption a three-frame digit clip (360 test clips): are its digits named, in order?"""

    type_name = "clip_caption"
    kind = "generation"
    needs = frozenset({"video"})
    metrics = {"digits_in_order": digits_in_order, "digit_accuracy": digit_accuracy}
    max_new_tokens = 24

    def examples(self, limit):
        data = DigitClips(DigitClips.Config(split="test"))
        for i in itertools.islice(range(len(data)), limit):
            r = data[i]
            yield {"prompt": "", "target": r["text"], "video": r["video"]}
