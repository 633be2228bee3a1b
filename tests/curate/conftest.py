"""Shared material for the curation tests: real English prose (Botchan) to build documents from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pathways.data.prose import paragraphs, sentences


def prose(first: int, words: int) -> str:
    """Consecutive Botchan sentences from sentence `first` on, until at least `words` words."""
    all_sentences = [s for p in paragraphs()[1:] for s in sentences(p)]
    out: list[str] = []
    i = first
    while sum(len(s.split()) for s in out) < words:
        out.append(all_sentences[i])
        i += 1
    return " ".join(out)


def write_jsonl(path: Path, docs: list) -> Path:
    """Documents as JSON lines; a str item is written verbatim (for malformed lines)."""
    path.write_text("".join((d if isinstance(d, str) else json.dumps(d, ensure_ascii=False)) + "\n" for d in docs), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def english() -> str:
    """About 120 words of ordinary English prose, which every quality rule keeps."""
    return prose(40, 120)
