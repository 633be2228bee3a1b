"""`blocklist`: drop documents that use listed words or phrases (safety and spam) (built-in plugin)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field

from pathways._errors import ConfigError, Problem
from pathways._markers import hookimpl
from pathways.curate._filter import Filter, FilterConfig

DEFAULT_LIST = Path(__file__).resolve().parent.parent / "files" / "blocklist.txt"


def read_terms(path: Path) -> list[str]:
    """One term per line; blank lines and `#` comments skipped."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def compile_terms(terms: list[str]) -> re.Pattern:
    """One case-insensitive pattern matching any term as whole words (longest first)."""
    alternatives = sorted({r"\s+".join(map(re.escape, t.lower().split())) for t in terms if t.split()}, key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


class Blocklist(Filter):
    """Count matches of the listed terms (case-insensitive, whole words; a phrase's spaces match
    any whitespace) and drop documents with more than `max_hits`. The shipped default list
    (`pathways/curate/files/blocklist.txt`) is a small, conservative start: supply your own."""

    type_name = "blocklist"

    class Config(FilterConfig):
        terms: tuple[str, ...] = Field((), description="terms or phrases to block, in addition to the lists")
        file: str | None = Field(None, description="a file of terms, one per line, `#` comments (relative to the chain's YAML file)")
        default_list: bool = Field(True, description="also use the shipped default list (pathways/curate/files/blocklist.txt)")
        max_hits: int = Field(0, ge=0, description="drop documents with more matches than this; 0 (any match drops) follows C4 (Raffel et al. 2020)")

    def setup(self, base_dir: Path) -> None:
        terms = list(self.cfg.terms)
        if self.cfg.default_list:
            terms += read_terms(DEFAULT_LIST)
        if self.cfg.file is not None:
            path = base_dir / self.cfg.file
            try:
                terms += read_terms(path)
            except OSError as exc:
                raise ConfigError([Problem("blocklist.file", f"cannot read {path}: {exc.strerror or exc}")]) from None
        self.pattern = compile_terms(terms) if terms else None

    def keep(self, doc: dict[str, Any]) -> str | None:
        if self.pattern is None:
            return None
        hits = self.pattern.findall(doc["text"])
        if len(hits) > self.cfg.max_hits:
            shown = ", ".join(dict.fromkeys(" ".join(h.lower().split()) for h in hits[:20]))
            return f"blocklist: {len(hits)} hits > {self.cfg.max_hits} ({shown})"
        return None


@hookimpl
def pathways_register_filters():
    return [Blocklist]
