"""JSON Lines in and out: lazy reading with line numbers, atomic writing (`.gz` either way)."""

from __future__ import annotations

import contextlib
import gzip
import json
from pathlib import Path
from typing import IO, Any, Iterator

from pathways._errors import PathwaysError, Problem
from pathways._files import atomic_path

BLANK = "blank"


def iter_lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """`(line number, raw bytes)` for every line of the file, read lazily (1-based numbers)."""
    path = Path(path)
    try:
        f: IO[bytes] = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    except OSError as exc:
        raise PathwaysError([Problem("", f"cannot read input: {exc.strerror or exc}", str(path))]) from None
    with f:
        for number, raw in enumerate(f, start=1):
            yield number, raw


def parse_line(raw: bytes | str) -> tuple[dict[str, Any] | None, str | None]:
    """`(document, None)`, `(None, BLANK)` for a blank line, or `(None, why it is malformed)`."""
    if not raw.strip():
        return None, BLANK
    try:
        doc = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        return None, f"invalid JSON: {exc}"
    if not isinstance(doc, dict):
        return None, f"not a JSON object (a {type(doc).__name__})"
    if not isinstance(doc.get("text"), str):
        return None, "no string 'text' field"
    return doc, None


def dumps(doc: dict[str, Any]) -> str:
    """One JSON line, non-ASCII kept as is."""
    return json.dumps(doc, ensure_ascii=False)


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[IO[str]]:
    """Write text to a temporary file beside `path`, renamed over it only if the block succeeds.

    A lone surrogate (valid in JSON, not in UTF-8) is written as its `\\uXXXX` escape,
    which JSON reads back as the same string.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        try:
            f: IO[str] = (
                gzip.open(tmp, "wt", encoding="utf-8", errors="backslashreplace")
                if path.suffix == ".gz"
                else open(tmp, "w", encoding="utf-8", errors="backslashreplace")
            )
        except OSError as exc:
            raise PathwaysError([Problem("", f"cannot write: {exc.strerror or exc}", str(path))]) from None
        with f:
            yield f
