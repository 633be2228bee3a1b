"""Metrics on hand-computed cases: SQuAD exact match and F1, BLEU, chrF, ROUGE."""

from __future__ import annotations

import pytest

from pathways.evaluate import bleu, chrf, exact_match, normalize_answer, rouge1, rouge2, rougeL, token_f1
from pathways.evaluate._metrics import token_f1_one
from pathways.evaluate.tasks.digits import named_digit, names_digit


def test_squad_normalisation():
    assert normalize_answer("The  Cat!") == "cat"
    assert normalize_answer("An apple, a day.") == "apple day"
    assert normalize_answer("theatre") == "theatre"  # articles only as whole words
    assert normalize_answer("dix-sept") == "dixsept"


def test_exact_match_takes_the_best_reference():
    assert exact_match(["the cat", "Dog."], [["Cat"], ["a dog", "hound"]]) == 1.0
    assert exact_match(["cat", "a big dog"], [["cat"], ["dog"]]) == 0.5


@pytest.mark.parametrize(
    "prediction, reference, f1",
    [
        ("the big red dog", "red dog", 0.8),  # P = 2/3, R = 1 -> 2PR/(P+R) = 0.8
        ("red dog", "the big red dog", 0.8),
        ("dog dog", "dog", 2 / 3),  # words are a bag: one of the two matches
        ("Paris, France", "paris", 2 / 3),
        ("cat", "dog", 0.0),
        ("the", "a", 1.0),  # both normalise to nothing
        ("", "dog", 0.0),
    ],
)
def test_token_f1_squad_cases(prediction, reference, f1):
    assert token_f1_one(prediction, reference) == pytest.approx(f1)


def test_token_f1_corpus_is_the_mean_of_best_per_prediction():
    # 0.8 (best of 0.8 and 0.0) and 1.0 -> 0.9
    assert token_f1(["the big red dog", "cat"], [["red dog", "fish"], ["the cat"]]) == pytest.approx(0.9)


def test_bleu_by_hand():
    # Unigram to 4-gram precisions 4/5, 3/4, 2/3, 1/2; equal lengths, so no brevity penalty.
    assert bleu(["a b c d e"], [["a b c d f"]]) == pytest.approx(100 * (4 / 5 * 3 / 4 * 2 / 3 * 1 / 2) ** 0.25)
    assert bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]) == pytest.approx(100.0)
    assert bleu(["x y z w"], [["a b c d"]]) == 0.0


def test_chrf_by_hand():
    # "ab" vs "abc": character 1-grams P = 1, R = 2/3; 2-grams P = 1, R = 1/2; no 3- to 6-grams in the
    # hypothesis, so they do not count. Mean P = 1, R = 7/12; F(beta=2) = 5PR / (4P + R) = 7/11.
    assert chrf(["ab"], [["abc"]]) == pytest.approx(100 * 7 / 11)
    assert chrf(["abc"], [["abc"]]) == pytest.approx(100.0)
    assert chrf(["xyz"], [["abc"]]) == 0.0


def test_uneven_reference_lists_score_as_their_best_reference():
    import sacrebleu

    preds, refs = ["a b c d e", "the cat"], [["a b c d f"], ["a cat", "the cat"]]
    assert bleu(preds, refs) == pytest.approx(sacrebleu.corpus_bleu(preds, [["a b c d f", "a cat"], ["a b c d f", "the cat"]]).score)
    assert bleu(["a b c d e"], [["a b c d f", "a b c d f"]]) == bleu(["a b c d e"], [["a b c d f"]])
    assert chrf(["ab"], [["abc", "abc"]]) == chrf(["ab"], [["abc"]])


def test_rouge_by_hand():
    # unigrams: 2 of 3 shared; bigrams: "the cat" of 2; longest common subsequence "the cat" (2 of 3).
    assert rouge1(["the cat sat"], [["the cat ran"]]) == pytest.approx(2 / 3)
    assert rouge2(["the cat sat"], [["the cat ran"]]) == pytest.approx(1 / 2)
    assert rougeL(["the cat sat"], [["the cat ran"]]) == pytest.approx(2 / 3)
    # ROUGE-L wants order: "b a" shares both words with "a b" but its LCS is 1 word.
    assert rouge1(["b a"], [["a b"]]) == pytest.approx(1.0)
    assert rougeL(["b a"], [["a b"]]) == pytest.approx(1 / 2)
    assert rouge1(["cats running"], [["cat runs"]]) == pytest.approx(1.0)  # Porter stemming
    # the mean over predictions of the best reference
    assert rouge1(["the cat sat", "dog"], [["the cat ran", "the cat sat"], ["cat"]]) == pytest.approx(0.5)


def test_mismatched_lengths_are_errors():
    with pytest.raises(ValueError, match="2 predictions for 1 reference lists"):
        exact_match(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="at least one reference"):
        bleu(["a"], [[]])


def test_digit_captions_are_judged_by_the_first_digit_named():
    assert named_digit("a handwritten seven") == "seven"
    assert named_digit("the digit 7, not one") == "seven"
    assert named_digit("a handwritten sevenish") is None
    assert names_digit(["a handwritten seven", "a one or a two", "blank"], [["seven"], ["two"], ["zero"]]) == pytest.approx(1 / 3)
