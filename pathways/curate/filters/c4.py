"""`c4_quality`: the page and line rules of C4 (Raffel et al. 2020, section 2.2) (built-in plugin)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from pathways._markers import hookimpl
from pathways.curate._filter import Filter, FilterConfig

_C4 = "C4 (Raffel et al. 2020, sec. 2.2)"
_TERMINAL = (".", "!", "?", '"', "”", "'", "’")
_SENTENCE = re.compile(r"[^.!?]*[.!?]+")
_JAVASCRIPT = re.compile(r"javascript", re.IGNORECASE)


class C4Quality(Filter):
    """C4's clean-up: lines without terminal punctuation, short lines and lines mentioning
    JavaScript are removed from `text` (C4 rewrites the page); pages with "lorem ipsum" or a
    curly brace, or with too few sentences left, are dropped. With `remove_lines: false` the
    text is left as it is and only the pages are judged."""

    type_name = "c4_quality"

    class Config(FilterConfig):
        remove_lines: bool = Field(True, description=f"remove failing lines from `text`, as {_C4} does; false: judge only")
        min_words_per_line: int = Field(5, description=f"lines with fewer words fail. Default from {_C4}.")
        min_sentences: int = Field(3, description=f"drop pages with fewer sentences in their kept lines. Default from {_C4}.")
        lorem_ipsum: bool = Field(True, description=f"drop pages containing 'lorem ipsum' ({_C4}).")
        curly_brace: bool = Field(True, description=f"drop pages containing '{{' (code; {_C4}).")

    def keep(self, doc: dict[str, Any]) -> str | None:
        c, text = self.cfg, doc["text"]
        if c.lorem_ipsum and "lorem ipsum" in text.lower():
            return "lorem_ipsum"
        if c.curly_brace and "{" in text:
            return "curly_brace"
        lines = [line.strip() for line in text.splitlines()]
        good = [line for line in lines if line.endswith(_TERMINAL) and len(line.split()) >= c.min_words_per_line and not _JAVASCRIPT.search(line)]
        sentences = sum(len(_SENTENCE.findall(line)) for line in good)
        if sentences < c.min_sentences:
            return f"too_few_sentences: {sentences} < {c.min_sentences}"
        if c.remove_lines and len(good) < len([line for line in lines if line]):
            doc["text"] = "\n".join(good)
        return None


@hookimpl
def pathways_register_filters():
    return [C4Quality]
