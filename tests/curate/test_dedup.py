"""Exact and MinHash dedup: first occurrence kept, copies and near-copies dropped, unrelated texts untouched."""

from __future__ import annotations

import numpy as np
import pytest

from pathways import ConfigError
from pathways.curate import MinHasher, jaccard, make_filter
from pathways.curate._report import category
from tests.curate.conftest import prose


def run(f, texts: list[str]) -> list[str | None]:
    return [f.keep({"text": t}) for t in texts]


def edit(text: str, every: int, word: str = "umbrella") -> str:
    """Replace every `every`-th word."""
    words = text.split()
    return " ".join(word if i % every == every - 1 else w for i, w in enumerate(words))


def test_exact_dedup_keeps_the_first_copy(english):
    f = make_filter("exact_dedup")
    reasons = run(f, [english, "Another text.", "  " + english.upper().replace(" ", "\n  ") + "  ", english + " More."])
    assert reasons[0] is None and reasons[1] is None and reasons[3] is None
    assert reasons[2] == "exact_duplicate"  # case, punctuation and whitespace are normalised away
    assert f.finish() == {"distinct_texts": 3}
    # An `id` names the original.
    g = make_filter("exact_dedup")
    assert g.keep({"text": "a b", "id": "doc-1"}) is None
    assert g.keep({"text": "A  B!", "id": "doc-2"}) == "exact_duplicate: of id doc-1"


def test_exact_dedup_without_normalisation(english):
    f = make_filter("exact_dedup", {"normalize": False})
    assert run(f, [english, english.upper(), " " + english + "\n"]) == [None, None, "exact_duplicate"]


def test_exact_dedup_prepare_then_admit_is_keep(english):
    f = make_filter("exact_dedup")
    doc = {"text": english}
    assert f.admit(doc, f.prepare(doc)) is None
    assert f.admit(doc, f.prepare(doc)) == "exact_duplicate"


def test_minhash_drops_near_duplicates_that_differ_by_a_few_words():
    texts = [prose(1000 + 40 * i, 300) for i in range(30)]  # 30 unrelated passages of ~300 words
    near = [edit(texts[3], 60), edit(texts[17], 75, "parasol"), texts[5].replace(",", ";")]  # 5, 4 and 0 words differ
    f = make_filter("minhash_dedup")
    reasons = run(f, texts + near)
    assert reasons[:30] == [None] * 30  # nothing unrelated is merged
    for reason in reasons[30:]:
        assert category(reason) == "near_duplicate", reason
        assert float(reason.split()[2]) >= 0.8
    assert f.finish()["indexed"] == 30


def test_minhash_threshold_decides(english):
    text = prose(2500, 300)
    changed = edit(text, 10)  # one word in ten: Jaccard of 5-gram shingles about 0.35
    assert run(make_filter("minhash_dedup"), [text, changed]) == [None, None]
    assert category(run(make_filter("minhash_dedup", {"threshold": 0.3, "bands": 64}), [text, changed])[1]) == "near_duplicate"


def test_minhash_estimate_is_deterministic_and_close_to_the_true_jaccard():
    a, b = prose(500, 300), edit(prose(500, 300), 25)
    h1, h2 = MinHasher(num_perm=256, seed=0), MinHasher(num_perm=256, seed=0)
    assert np.array_equal(h1.signature(a), h2.signature(a))
    assert not np.array_equal(h1.signature(a), MinHasher(num_perm=256, seed=1).signature(a))
    sa, sb = set(h1.shingles(a).tolist()), set(h1.shingles(b).tolist())
    true = len(sa & sb) / len(sa | sb)
    assert 0.5 < true < 0.9
    assert abs(jaccard(h1.signature(a), h1.signature(b)) - true) < 0.08


def test_minhash_config_checks():
    with pytest.raises(ConfigError, match="bands \\(10\\) must divide num_perm \\(128\\)"):
        make_filter("minhash_dedup", {"bands": 10})
    short = make_filter("minhash_dedup")
    assert run(short, ["two words", "Two words!", "", ""]) == [None, "near_duplicate: jaccard 1.00", None, "near_duplicate: jaccard 1.00"]
