"""`gopher_quality`: MassiveText's quality and repetition rules (Rae et al. 2021, Gopher) (built-in plugin).

Thresholds default to the paper's (Appendix A, "Quality filtering" and Table A1
"Repetition removal"); each can be changed, or set to null to switch the rule
off. Words are whitespace-separated; lengths, stop words and n-grams use the
normalised words (lower case, punctuation removed). Duplicated n-gram
characters count every occurrence of an n-gram seen more than once, overlaps
once, as Dolma's Gopher tagger does.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from pydantic import Field

from pathways._markers import hookimpl
from pathways.curate._filter import Filter, FilterConfig
from pathways.curate._text import ngram_ladder, normalize, string_hashes, words

_GOPHER = "Gopher (Rae et al. 2021, App. A)"
_TABLE_A1 = "Gopher (Rae et al. 2021, Table A1)"
_BULLETS = ("•", "●", "○", "◦", "‣", "▪", "-", "*", "–")
_ALPHA_WORD = re.compile(r"\S*[^\W\d_]\S*")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def _duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and their characters."""
    seen: set[str] = set()
    count = chars = 0
    for item in items:
        if item in seen:
            count += 1
            chars += len(item)
        else:
            seen.add(item)
    return count, chars


def _limit(default: float | int, source: str, what: str) -> Any:
    return Field(default, description=f"{what} (null: rule off). Default from {source}.")


class GopherQuality(Filter):
    """Drop documents that fail any of Gopher's quality or repetition rules.

    Reads `doc["language"]` (set by `language_id`) only to decide whether the
    English stop-word rule applies; never changes the document.
    """

    type_name = "gopher_quality"

    class Config(FilterConfig):
        min_words: int | None = _limit(50, _GOPHER, "drop documents with fewer words")
        max_words: int | None = _limit(100_000, _GOPHER, "drop documents with more words")
        min_mean_word_length: float | None = _limit(3, _GOPHER, "drop if the mean word length is below this")
        max_mean_word_length: float | None = _limit(10, _GOPHER, "drop if the mean word length is above this")
        max_hash_ratio: float | None = _limit(0.1, _GOPHER, "drop if '#' symbols per word exceed this")
        max_ellipsis_ratio: float | None = _limit(0.1, _GOPHER, "drop if ellipses ('...' or '…') per word exceed this")
        max_bullet_lines: float | None = _limit(0.9, _GOPHER, "drop if more than this fraction of lines start with a bullet")
        max_ellipsis_lines: float | None = _limit(0.3, _GOPHER, "drop if more than this fraction of lines end with an ellipsis")
        min_alpha_words: float | None = _limit(0.8, _GOPHER, "drop if fewer than this fraction of words contain a letter")
        min_stop_words: int | None = _limit(2, _GOPHER, "drop if fewer than this many distinct `stop_words` occur")
        stop_words: tuple[str, ...] = Field(
            ("the", "be", "to", "of", "and", "that", "have", "with"), description=f"English stop words. Default from {_GOPHER}."
        )
        languages: tuple[str, ...] | None = Field(
            ("en",),
            description="the stop-word rule applies to documents whose `language` (set by `language_id`) is one of "
            "these or undetermined (`und`, as text without stop words is), and to documents without a `language` "
            "field; null: to every document.",
        )
        max_dup_lines: float | None = _limit(0.30, _TABLE_A1, "drop if this fraction of lines repeat an earlier line")
        max_dup_paragraphs: float | None = _limit(0.30, _TABLE_A1, "drop if this fraction of paragraphs repeat an earlier one")
        max_dup_line_chars: float | None = _limit(0.20, _TABLE_A1, "drop if repeated lines hold this fraction of characters")
        max_dup_paragraph_chars: float | None = _limit(0.20, _TABLE_A1, "the same for repeated paragraphs")
        max_top_ngram_chars: dict[int, float] = Field(
            {2: 0.20, 3: 0.18, 4: 0.16},
            description=f"n -> limit on the character fraction of the most frequent word n-gram. Default from {_TABLE_A1}.",
        )
        max_dup_ngram_chars: dict[int, float] = Field(
            {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10},
            description=f"n -> limit on the character fraction inside word n-grams that occur more than once. Default from {_TABLE_A1}.",
        )

    def keep(self, doc: dict[str, Any]) -> str | None:
        text: str = doc["text"]
        n = len(words(text))
        c = self.cfg
        if c.min_words is not None and n < c.min_words:
            return f"word_count: {n} < {c.min_words}"
        if c.max_words is not None and n > c.max_words:
            return f"word_count: {n} > {c.max_words}"
        norm = normalize(text).split()
        return self._quality(text, n, norm, doc.get("language")) or self._repetition(text, norm)

    def _quality(self, text: str, n: int, norm: list[str], language: str | None) -> str | None:
        c = self.cfg
        mean = sum(map(len, norm)) / max(len(norm), 1)
        if c.min_mean_word_length is not None and mean < c.min_mean_word_length:
            return f"mean_word_length: {mean:.2f} < {c.min_mean_word_length}"
        if c.max_mean_word_length is not None and mean > c.max_mean_word_length:
            return f"mean_word_length: {mean:.2f} > {c.max_mean_word_length}"
        if c.max_hash_ratio is not None and (r := text.count("#") / max(n, 1)) > c.max_hash_ratio:
            return f"hash_ratio: {r:.3f} > {c.max_hash_ratio}"
        if c.max_ellipsis_ratio is not None:
            r = (text.count("...") + text.count("…")) / max(n, 1)
            if r > c.max_ellipsis_ratio:
                return f"ellipsis_ratio: {r:.3f} > {c.max_ellipsis_ratio}"
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if lines and c.max_bullet_lines is not None:
            r = sum(line.startswith(_BULLETS) for line in lines) / len(lines)
            if r > c.max_bullet_lines:
                return f"bullet_lines: {r:.3f} > {c.max_bullet_lines}"
        if lines and c.max_ellipsis_lines is not None:
            r = sum(line.endswith(("...", "…")) for line in lines) / len(lines)
            if r > c.max_ellipsis_lines:
                return f"ellipsis_lines: {r:.3f} > {c.max_ellipsis_lines}"
        if c.min_alpha_words is not None and n and (r := len(_ALPHA_WORD.findall(text)) / n) < c.min_alpha_words:
            return f"alpha_words: {r:.3f} < {c.min_alpha_words}"
        if c.min_stop_words is not None and (c.languages is None or language in (None, "und") or language in c.languages):
            found = len(set(c.stop_words).intersection(norm))
            if found < c.min_stop_words:
                return f"stop_words: {found} < {c.min_stop_words}"
        return None

    def _repetition(self, text: str, norm: list[str]) -> str | None:
        c = self.cfg
        total = max(len(text), 1)
        for unit, parts, max_frac, max_chars in (
            ("lines", [s.strip() for s in text.splitlines() if s.strip()], c.max_dup_lines, c.max_dup_line_chars),
            ("paragraphs", [s.strip() for s in _PARAGRAPH_BREAK.split(text) if s.strip()], c.max_dup_paragraphs, c.max_dup_paragraph_chars),
        ):
            count, chars = _duplicates(parts)
            if max_frac is not None and parts and (r := count / len(parts)) > max_frac:
                return f"dup_{unit}: {r:.3f} > {max_frac}"
            if max_chars is not None and (r := chars / total) > max_chars:
                return f"dup_{unit[:-1]}_chars: {r:.3f} > {max_chars}"
        if not norm:
            return None
        lengths = np.fromiter(map(len, norm), dtype=np.int64, count=len(norm))  # [W]
        chars = int(lengths.sum())
        top_limits, dup_limits = c.max_top_ngram_chars, c.max_dup_ngram_chars
        for n, keys in ngram_ladder(string_hashes(norm), max([*top_limits, *dup_limits], default=0)):  # keys: [W - n + 1]
            if n in top_limits:
                _, first, counts = np.unique(keys, return_index=True, return_counts=True)
                top = int(np.argmax(counts))
                if counts[top] > 1:
                    r = counts[top] * lengths[first[top] : first[top] + n].sum() / chars
                    if r > top_limits[n]:
                        return f"top_{n}gram_chars: {r:.3f} > {top_limits[n]}"
            if n in dup_limits:
                _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
                starts = np.flatnonzero(counts[inverse] > 1)  # n-grams that occur more than once
                if len(starts) == 0:
                    continue
                delta = np.zeros(len(norm) + 1, dtype=np.int64)
                np.add.at(delta, starts, 1)
                np.add.at(delta, starts + n, -1)
                covered = np.cumsum(delta[:-1]) > 0  # [W]: words inside some repeated n-gram
                r = lengths[covered].sum() / chars
                if r > dup_limits[n]:
                    return f"dup_{n}gram_chars: {r:.3f} > {dup_limits[n]}"
        return None


@hookimpl
def pathways_register_filters():
    return [GopherQuality]
