"""Questions from WordNet relations (wordnet_commonsense test split): open QA and two multiple-choice sets.

Every question ends in its blank ("a river is a kind of ___"), so the prompt is
the question without it and the answer continues it, as in the dataset's `text`.
"""

from __future__ import annotations

import itertools

from pathways._markers import hookimpl
from pathways.data.wordnet import WordNetCommonsense
from pathways.evaluate._metrics import exact_match, token_f1
from pathways.evaluate._task import Task


def _rows(relations: tuple[str, ...], limit):
    data = WordNetCommonsense(WordNetCommonsense.Config(split="test", relations=relations))
    for i in itertools.islice(range(len(data)), limit):
        r = data[i]
        yield {"prompt": r["question"].removesuffix(" ___"), "choices": r["choices"], "answer": r["answer"], "target": r["choices"][r["answer"]]}


class QAWordNet(Task):
    """Open questions: "a river is a kind of" -> "stream" (exact match and token F1, SQuAD-normalised); 248 questions."""

    type_name = "qa_wordnet"
    kind = "generation"
    metrics = {"exact_match": exact_match, "f1": token_f1}
    max_new_tokens = 24

    def examples(self, limit):
        return _rows(("hypernym", "part", "antonym", "entailment", "cause"), limit)


class CommonsenseMC(Task):
    """Four-way choice on noun and adjective relations: hypernym, part (meronym), antonym; 238 questions."""

    type_name = "commonsense_mc"
    kind = "multiple_choice"

    def examples(self, limit):
        return _rows(("hypernym", "part", "antonym"), limit)


class CausalMC(Task):
    """Four-way choice on verb relations: entailment ("to shop, you must ___") and cause; 10 questions, so noisy."""

    type_name = "causal_mc"
    kind = "multiple_choice"

    def examples(self, limit):
        return _rows(("entailment", "cause"), limit)


@hookimpl
def pathways_register_tasks():
    return [QAWordNet, CommonsenseMC, CausalMC]
