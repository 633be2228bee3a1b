"""English prose for language modelling and tokenizer training: Natsume's *Botchan* (built-in plugin).

The text is Project Gutenberg eBook #8868 (public domain), the copy sentencepiece
bundles for its own tests, committed as `pathways/data/files/botchan.txt`.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Literal

import pydantic

from pathways._markers import hookimpl
from pathways.data._dataset import Dataset, DatasetConfig
from pathways.data._split import keep

FILE = Path(__file__).parent / "files" / "botchan.txt"
_ABBREVIATION = re.compile(r"(?:\b(?:Mr|Mrs|Dr|St|Messrs)|\b[A-Z])\.$")
# The space after ".", "!" or "?" (and any closing quote) when a capital or opening quote follows.
_SENTENCE_END = re.compile(r'(?:(?<=[.!?])|(?<=[.!?]["\')]))\s+(?=["\'(]?[A-Z0-9])')


@functools.cache
def paragraphs() -> tuple[str, ...]:
    """The book from the translator's note to "THE END", as one line per chapter (the file has no blank lines).

    Chapter headings, the Gutenberg header and licence, and the transcriber's
    "[A]" note markers are dropped.
    """
    lines = FILE.read_text(encoding="utf-8-sig").splitlines()
    start = lines.index("A NOTE BY THE TRANSLATOR")
    end = next(i for i, l in enumerate(lines) if "(THE END)" in l)
    out, current = [], []
    for line in lines[start:end]:
        line = re.sub(r" ?\[[A-Z]\]", "", line).strip()
        heading = line.isupper() or line.startswith("CHAPTER")
        if heading or not line:
            if current:
                out.append(" ".join(current))
            current = []
        else:
            current.append(line)
    if current:
        out.append(" ".join(current))
    return tuple(re.sub(r"\s+", " ", p) for p in out)


def sentences(paragraph: str) -> list[str]:
    """Split at sentence ends, but not after "Mr." or an initial."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(paragraph):
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


def _wrap(text: str, width: int) -> list[str]:
    """Cut an over-long sentence at word boundaries (a single word longer than `width` is cut too)."""
    out, line = [], ""
    for word in text.split(" "):
        while len(word) > width:
            if line:
                out.append(line)
                line = ""
            out.append(word[:width])
            word = word[width:]
        if line and len(line) + 1 + len(word) > width:
            out.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return out + ([line] if line else [])


@functools.cache
def chunks(unit: str, max_chars: int) -> tuple[str, ...]:
    """Every chunk of the book, in order: sentences, or windows of whole sentences within a paragraph."""
    out = []
    for paragraph in paragraphs():
        pieces = [w for s in sentences(paragraph) for w in _wrap(s, max_chars)]
        if unit == "sentence":
            out += pieces
            continue
        window = ""
        for piece in pieces:
            if window and len(window) + 1 + len(piece) > max_chars:
                out.append(window)
                window = piece
            else:
                window = f"{window} {piece}" if window else piece
        out.append(window)
    return tuple(out)


class EnglishProse(Dataset):
    """English prose in chunks of at most `max_chars` characters, from a public-domain novel.

    `unit: sentence` gives one sentence per record; `unit: window` (default)
    packs consecutive whole sentences of a paragraph up to `max_chars`. A sentence
    longer than `max_chars` is cut at word boundaries. Records: `text`.
    Splits: `train` and `test` (about 10%) by hashing each chunk.
    """

    type_name = "english_prose"
    fields = {"text": "a chunk of English prose of at most max_chars characters"}

    class Config(DatasetConfig):
        split: Literal["train", "test"] = "train"
        unit: Literal["window", "sentence"] = "window"
        max_chars: pydantic.PositiveInt = 256

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.texts = [c for c in chunks(cfg.unit, cfg.max_chars) if keep(c, cfg.split, 0.1)]

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: int):
        return {"text": self.texts[index]}


@hookimpl
def pathways_register_datasets():
    return [EnglishProse]
