"""Metrics on generated text: exact match and token F1 (SQuAD), BLEU and chrF (sacrebleu), ROUGE (rouge-score).

Every metric takes `predictions [N]` and `references [N][R]` (one or more
references per prediction) and returns one number for the corpus. Exact match,
F1 and ROUGE take the best reference per prediction and average over
predictions, on a 0-1 scale; BLEU and chrF are sacrebleu's corpus scores, on its
0-100 scale.
"""

from __future__ import annotations

import collections
import functools
import re
import string

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")


def normalize_answer(text: str) -> str:
    """SQuAD v1.1's normalisation: lower case, drop punctuation, drop articles, collapse whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match_one(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def token_f1_one(prediction: str, reference: str) -> float:
    """Harmonic mean of precision and recall of normalised words (a bag: repeats count).

    When either side normalises to nothing, 1.0 if both do, else 0.0 (as SQuAD v2's script).
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    same = sum((collections.Counter(pred) & collections.Counter(ref)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def _best_mean(one, predictions: list[str], references: list[list[str]]) -> float:
    _check(predictions, references)
    return sum(max(one(p, r) for r in refs) for p, refs in zip(predictions, references)) / len(predictions)


def _check(predictions: list[str], references: list[list[str]]) -> None:
    if len(predictions) != len(references) or not predictions:
        raise ValueError(f"{len(predictions)} predictions for {len(references)} reference lists (need as many, at least one)")
    if any(not refs for refs in references):
        raise ValueError("every prediction needs at least one reference")


def exact_match(predictions: list[str], references: list[list[str]]) -> float:
    """Fraction of predictions equal to some reference after `normalize_answer`."""
    return _best_mean(exact_match_one, predictions, references)


def token_f1(predictions: list[str], references: list[list[str]]) -> float:
    """Mean over predictions of the best `token_f1_one` against its references."""
    return _best_mean(token_f1_one, predictions, references)


def _streams(references: list[list[str]]) -> list[list[str]]:
    """Reference lists as sacrebleu's streams (one list per reference position).

    Shorter lists are padded by repeating their first reference: BLEU clips n-gram
    counts by the maximum over references and takes the closest length, chrF takes
    the best reference, so a repeated reference changes neither.
    """
    width = max(len(refs) for refs in references)
    return [[refs[i] if i < len(refs) else refs[0] for refs in references] for i in range(width)]


def bleu(predictions: list[str], references: list[list[str]]) -> float:
    """sacrebleu's corpus BLEU (4-grams, 13a tokenizer, exponential smoothing off), 0-100."""
    import sacrebleu

    _check(predictions, references)
    return float(sacrebleu.corpus_bleu(predictions, _streams(references)).score)


def chrf(predictions: list[str], references: list[list[str]]) -> float:
    """sacrebleu's corpus chrF (character 6-grams, beta 2), 0-100."""
    import sacrebleu

    _check(predictions, references)
    return float(sacrebleu.corpus_chrf(predictions, _streams(references)).score)


@functools.cache
def _scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def _rouge(kind: str, predictions: list[str], references: list[list[str]]) -> float:
    return _best_mean(lambda p, r: _scorer().score(r, p)[kind].fmeasure, predictions, references)


def rouge1(predictions: list[str], references: list[list[str]]) -> float:
    """Mean ROUGE-1 F-measure (unigram overlap; rouge-score's tokenizer with Porter stemming), 0-1."""
    return _rouge("rouge1", predictions, references)


def rouge2(predictions: list[str], references: list[list[str]]) -> float:
    """Mean ROUGE-2 F-measure (bigram overlap), 0-1."""
    return _rouge("rouge2", predictions, references)


def rougeL(predictions: list[str], references: list[list[str]]) -> float:  # noqa: N802 (the metric's usual name)
    """Mean ROUGE-L F-measure (longest common subsequence), 0-1."""
    return _rouge("rougeL", predictions, references)


METRICS = {"exact_match": exact_match, "f1": token_f1, "bleu": bleu, "chrf": chrf, "rouge1": rouge1, "rouge2": rouge2, "rougeL": rougeL}
