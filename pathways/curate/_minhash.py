"""MinHash signatures over word shingles and an LSH index with banding (Broder 1997; Leskovec et al., MMDS ch. 3).

A document's shingles are its normalised word n-grams, each hashed to 64
bits. Permutation i is the multiply-shift hash `(a_i * h + b_i) mod 2^64 >> 32`
with odd `a_i`, drawn from a seeded generator: every process and every run
computes the same signatures. The probability that two documents agree on one
signature entry is their Jaccard similarity, so the fraction of agreeing entries
estimates it.

LSH: the signature is cut into `bands` bands of `rows` entries; documents that
agree on a whole band become candidates (probability `1 - (1 - J^rows)^bands`),
and a candidate is a near-duplicate when the estimated Jaccard similarity of
the two signatures reaches the threshold.
"""

from __future__ import annotations

import numpy as np

from pathways.curate._text import mix64, ngram_hashes, normalize, string_hashes


class MinHasher:
    """Signatures of `num_perm` uint32 entries over word `ngram`-shingles."""

    def __init__(self, num_perm: int = 128, ngram: int = 5, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.ngram = ngram
        self.a = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64) * np.uint64(2) + np.uint64(1)  # [P] odd
        self.b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)  # [P]

    def shingles(self, text: str) -> np.ndarray:
        """uint64 hashes of the distinct word n-grams; a shorter text is one shingle."""
        words = normalize(text).split()
        if not words:
            return np.zeros(0, dtype=np.uint64)
        return np.unique(ngram_hashes(string_hashes(words), min(self.ngram, len(words))))

    def signature(self, text: str) -> np.ndarray:
        """`[num_perm]` uint32: the minimum of each permuted shingle hash (all ones without words)."""
        h = self.shingles(text)  # [S]
        if len(h) == 0:
            return np.full(len(self.a), np.iinfo(np.uint32).max, dtype=np.uint32)
        permuted = (h[:, None] * self.a[None, :] + self.b[None, :]) >> np.uint64(32)  # [S, P]
        return permuted.min(axis=0).astype(np.uint32)


def jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Estimated Jaccard similarity: the fraction of signature entries that agree."""
    return float(np.mean(sig_a == sig_b))


def band_keys(sig: np.ndarray, bands: int) -> list[int]:
    """One 64-bit key per band of a `[bands * rows]` signature."""
    rows = sig.reshape(bands, -1).astype(np.uint64)  # [bands, rows]
    acc = np.zeros(bands, dtype=np.uint64)
    for r in range(rows.shape[1]):
        acc = mix64(acc ^ rows[:, r])
    return acc.tolist()


class LSHIndex:
    """Signatures of the documents kept so far, bucketed by band key.

    Memory grows with the documents kept: one signature (`4 * num_perm` bytes)
    and `bands` dictionary entries each, about 2 KB per document at the defaults.
    """

    def __init__(self, num_perm: int, bands: int):
        self.bands = bands
        self.buckets: list[dict[int, list[int]]] = [{} for _ in range(bands)]
        self._sigs = np.zeros((1024, num_perm), dtype=np.uint32)  # [capacity, P], grown by doubling
        self._n = 0
        self.candidates = 0  # candidate pairs compared

    def __len__(self) -> int:
        return self._n

    def query(self, sig: np.ndarray, keys: list[int], threshold: float) -> tuple[int, float] | None:
        """The first indexed document whose estimated Jaccard with `sig` is >= threshold, and that estimate."""
        checked: set[int] = set()
        for bucket, key in zip(self.buckets, keys):
            for other in bucket.get(key, ()):
                if other in checked:
                    continue
                checked.add(other)
                self.candidates += 1
                j = jaccard(sig, self._sigs[other])
                if j >= threshold:
                    return other, j
        return None

    def add(self, sig: np.ndarray, keys: list[int]) -> int:
        """Index a signature; returns its number (0, 1, ... in order of addition)."""
        if self._n == len(self._sigs):
            self._sigs = np.concatenate([self._sigs, np.zeros_like(self._sigs)])
        doc, self._n = self._n, self._n + 1
        self._sigs[doc] = sig
        for bucket, key in zip(self.buckets, keys):
            bucket.setdefault(key, []).append(doc)
        return doc
