"""Gopher and C4 quality rules and the blocklist: one document per rule, kept or dropped for that reason."""

from __future__ import annotations

import pytest

from pathways import ConfigError
from pathways.curate import make_filter
from pathways.curate._report import category
from tests.curate.conftest import prose

UNIQUE = prose(200, 400).split()  # a supply of prose words in their natural order


def lines_of(words: list[str], per_line: int) -> list[str]:
    return [" ".join(words[i : i + per_line]) for i in range(0, len(words), per_line)]


def gopher(**config):
    return make_filter("gopher_quality", config)


def test_ordinary_prose_is_kept(english):
    assert gopher().keep({"text": english}) is None
    assert make_filter("c4_quality").keep({"text": english}) is None
    assert make_filter("blocklist").keep({"text": english}) is None


@pytest.mark.parametrize(
    "make, config, expected",
    [
        (lambda e: "The cat sat with the dog and ate the fish.", {}, "word_count: 10 < 50"),
        (lambda e: e, {"max_words": 60}, "word_count"),
        (lambda e: " ".join(["I am to be in it at an ox or go up so we do"] * 5), {}, "mean_word_length"),
        (lambda e: " ".join(["the incomprehensibilities of internationalisation with counterrevolutionaries"] * 10), {}, "mean_word_length"),
        (lambda e: e + "".join(f" #{w}" for w in UNIQUE[:30]), {}, "hash_ratio"),
        (lambda e: " ".join(w + ("..." if i % 5 == 0 else "") for i, w in enumerate(e.split())), {}, "ellipsis_ratio"),
        (lambda e: "\n".join("• " + line for line in lines_of(e.split(), 10)), {}, "bullet_lines"),
        (lambda e: "\n".join(line + ("..." if i % 2 else "") for i, line in enumerate(lines_of(e.split(), 15))), {}, "ellipsis_lines"),
        (lambda e: e + " " + " ".join(str(1000 + i) for i in range(40)), {}, "alpha_words"),
    ],
    ids=["few_words", "many_words", "short_words", "long_words", "hashes", "ellipses", "bullets", "ellipsis_lines", "numbers"],
)
def test_gopher_quality_rules(english, make, config, expected):
    reason = gopher(**config).keep({"text": make(english)})
    assert reason is not None and reason.startswith(expected), reason


def test_gopher_stop_word_rule_applies_by_language():
    no_stop_words = " ".join(w for w in UNIQUE if w.lower().strip(",.;!?\"'") not in {"the", "be", "to", "of", "and", "that", "have", "with"})
    text = " ".join(no_stop_words.split()[:120])
    assert category(gopher().keep({"text": text})) == "stop_words"
    assert category(gopher().keep({"text": text, "language": "en"})) == "stop_words"
    assert category(gopher().keep({"text": text, "language": "und"})) == "stop_words"  # what language_id says of it
    # French text has none of the English stop words: the rule is for English only (config `languages`).
    assert gopher().keep({"text": text, "language": "fr"}) is None
    assert category(gopher(languages=None).keep({"text": text, "language": "fr"})) == "stop_words"
    assert gopher(min_stop_words=None).keep({"text": text}) is None


@pytest.mark.parametrize(
    "make, config, expected",
    [
        (lambda e: "\n".join(lines_of(e.split(), 12) + ["Subscribe to our newsletter for more news and offers."] * 10), {}, "dup_lines"),
        (
            lambda e: "\n\n".join(lines_of(e.split(), 30) + [" ".join(UNIQUE[:30])] * 5),
            {"max_dup_lines": None, "max_dup_line_chars": None},
            "dup_paragraphs",
        ),
        (lambda e: "\n".join(lines_of(e.split(), 12) + [" ".join(UNIQUE[:60])] * 2), {}, "dup_line_chars"),
        (
            lambda e: "\n\n".join(lines_of(e.split(), 40) + [" ".join(UNIQUE[:60])] * 2),
            {"max_dup_lines": None, "max_dup_line_chars": None, "max_dup_paragraphs": None},
            "dup_paragraph_chars",
        ),
        (lambda e: " ".join(f"very good {a} {b}" for a, b in zip(UNIQUE[:80:2], UNIQUE[1:80:2])), {}, "top_2gram_chars"),
        (lambda e: " ".join([e, *UNIQUE[:15], *UNIQUE[20:40], *UNIQUE[:15], *UNIQUE[40:60], *UNIQUE[:15]]), {}, "dup_5gram_chars"),
    ],
    ids=["lines", "paragraphs", "line_chars", "paragraph_chars", "top_2gram", "dup_5gram"],
)
def test_gopher_repetition_rules(english, make, config, expected):
    reason = gopher(**config).keep({"text": make(english)})
    assert reason is not None and category(reason) == expected, reason


def test_gopher_thresholds_are_configurable_and_rules_can_be_switched_off(english):
    text = english + "".join(f" #{w}" for w in UNIQUE[:30])
    assert gopher(max_hash_ratio=0.5).keep({"text": text}) is None
    assert gopher(max_hash_ratio=None).keep({"text": text}) is None
    with pytest.raises(ConfigError, match="unknown field 'min_word'; did you mean 'min_words'"):
        gopher(min_word=3)


def test_c4_removes_bad_lines_and_keeps_other_fields(english):
    text = "Home | About | Contact\n" + english + "\nPlease enable JavaScript to view the comments powered by Disqus.\nShare this"
    doc = {"text": text, "url": "https://example.org/a", "meta": {"n": 1}}
    assert make_filter("c4_quality").keep(doc) is None
    assert doc["text"] == english and doc["url"] == "https://example.org/a" and doc["meta"] == {"n": 1}
    judge_only = {"text": text}
    assert make_filter("c4_quality", {"remove_lines": False}).keep(judge_only) is None
    assert judge_only["text"] == text


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda e: e + "\nLorem ipsum dolor sit amet, consectetur adipiscing elit.", "lorem_ipsum"),
        (lambda e: e + "\nfunction f() { return 1; }", "curly_brace"),
        (lambda e: "Buy our product today. It is the best one there is.\nClick here\nMenu", "too_few_sentences"),
        (lambda e: "\n".join(line for line in lines_of(e.split(), 12)), "too_few_sentences"),  # no line ends a sentence
    ],
    ids=["lorem_ipsum", "curly_brace", "few_sentences", "no_terminal_punctuation"],
)
def test_c4_page_rules(english, make, expected):
    reason = make_filter("c4_quality").keep({"text": make(english)})
    assert reason is not None and category(reason) == expected, reason


def test_blocklist_matches_whole_words_case_insensitively(english):
    block = make_filter("blocklist")
    assert category(block.keep({"text": english + " Free XXX videos."})) == "blocklist"
    assert "buy viagra" in block.keep({"text": english + " BUY\n  Viagra online"})  # a phrase across whitespace
    # Inside longer words nothing matches: "porn" in "pornographer", "xxx" in "xxxl".
    assert block.keep({"text": english + " The pornographer's cousin sold xxxl shirts to a pipe bomber."}) is None


def test_blocklist_max_hits_and_own_lists(tmp_path, english):
    spam = english + " Act now! Free spins and a casino bonus."
    assert block_reason(spam) == "blocklist: 3 hits > 0 (act now, free spins, casino bonus)"
    assert make_filter("blocklist", {"max_hits": 3}).keep({"text": spam}) is None
    (tmp_path / "terms.txt").write_text("# our list\nBotchan\n\nmaster  darling\n")
    own = make_filter("blocklist", {"file": "terms.txt", "default_list": False, "terms": ["red shirt"]}, base_dir=tmp_path)
    assert own.keep({"text": "Red Shirt met Master Darling."}) == "blocklist: 2 hits > 0 (red shirt, master darling)"
    assert own.keep({"text": spam}) is None  # the default list is off
    with pytest.raises(ConfigError, match="cannot read"):
        make_filter("blocklist", {"file": "missing.txt"}, base_dir=tmp_path)


def block_reason(text: str) -> str | None:
    return make_filter("blocklist").keep({"text": text})
