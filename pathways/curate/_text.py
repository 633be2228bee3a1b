"""Text helpers the filters share: words, normalisation and stable 64-bit hashing.

Hashes must agree across processes and runs (workers, saved classifiers), so
nothing here uses Python's salted `hash()`: strings go through CRC-32 and are
mixed into 64 bits with the splitmix64 finaliser, vectorised in NumPy.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from typing import Iterator

import numpy as np

_NON_WORD = re.compile(r"[\W_]+")
_SPACES = re.compile(r"\s+")

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def words(text: str) -> list[str]:
    """Whitespace-separated words, as Gopher counts them (punctuation stays attached)."""
    return text.split()


def normalize(text: str) -> str:
    """Lower case, NFKC, punctuation and runs of whitespace to one space: what dedup compares."""
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_WORD.sub(" ", text).strip()


def collapse_spaces(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser on a uint64 array: a bijection that spreads every input bit."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def string_hashes(tokens: list[str], seed: int = 0) -> np.ndarray:
    """A stable uint64 hash per string: CRC-32 of its UTF-8 bytes, mixed with `seed`."""
    crc = np.fromiter((zlib.crc32(t.encode("utf-8", "surrogatepass")) for t in tokens), dtype=np.uint64, count=len(tokens))
    return mix64(crc + np.uint64(seed) * _GOLDEN)


def ngram_ladder(hashes: np.ndarray, max_n: int) -> Iterator[tuple[int, np.ndarray]]:
    """`(n, keys)` for n = 1 .. max_n: uint64 keys of every run of n consecutive items, `[N - n + 1]`.

    Each n costs one mix over the previous n's keys. Equal runs give equal keys;
    the keys are not mixed at the end (`ngram_hashes` does that).
    """
    acc = hashes
    for n in range(1, max_n + 1):
        if n > 1:
            acc = mix64(acc[:-1]) ^ hashes[n - 1 :]
        if len(acc) == 0:
            return
        yield n, acc


def ngram_hashes(hashes: np.ndarray, n: int) -> np.ndarray:
    """Order-sensitive, well-mixed uint64 hashes of every run of `n` consecutive items: `[N] -> [N - n + 1]`."""
    for m, keys in ngram_ladder(hashes, n):
        if m == n:
            return mix64(keys)
    return np.zeros(0, dtype=np.uint64)
