"""`exact_dedup` and `minhash_dedup`: drop documents already seen in this input (built-in plugin).

Both are stateful: the hashing runs wherever the pipeline likes (`prepare`,
possibly a worker), the decision in the main process in input order (`admit`),
so the first occurrence is the one kept, whatever `--workers` is.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pydantic
from pydantic import Field

from pathways._markers import hookimpl
from pathways.curate._filter import Filter, FilterConfig
from pathways.curate._minhash import LSHIndex, MinHasher, band_keys
from pathways.curate._text import collapse_spaces, normalize


def _of(doc: dict[str, Any]) -> str:
    """Names the kept original in later drop reasons, where documents carry an `id`."""
    return f" of id {doc['id']}" if isinstance(doc.get("id"), (str, int)) else ""


class ExactDedup(Filter):
    """Keep the first document with a given text; later copies are dropped.

    Texts are compared by a 128-bit BLAKE2b hash of their normalised form (see `normalize`).
    """

    type_name = "exact_dedup"
    stateful = True

    class Config(FilterConfig):
        normalize: bool = Field(
            True,
            description="compare texts lower-cased without punctuation and with whitespace collapsed; false: "
            "only surrounding whitespace is ignored and runs of whitespace collapsed",
        )

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.seen: dict[bytes, str] = {}

    def prepare(self, doc: dict[str, Any]) -> bytes:
        text = normalize(doc["text"]) if self.cfg.normalize else collapse_spaces(doc["text"])
        return hashlib.blake2b(text.encode("utf-8", errors="surrogatepass"), digest_size=16).digest()

    def admit(self, doc: dict[str, Any], prepared: bytes) -> str | None:
        first = self.seen.get(prepared)
        if first is not None:
            return f"exact_duplicate:{first}" if first else "exact_duplicate"
        self.seen[prepared] = _of(doc)
        return None

    def finish(self) -> dict[str, Any]:
        return {"distinct_texts": len(self.seen)}


class MinHashDedup(Filter):
    """Drop near-duplicates: documents whose estimated Jaccard similarity of word 5-gram
    shingles with an earlier kept document reaches `threshold` (MinHash + LSH banding,
    see `pathways.curate.MinHasher`). Deterministic: hashing seeds come from `seed`."""

    type_name = "minhash_dedup"
    stateful = True

    class Config(FilterConfig):
        num_perm: int = Field(128, gt=0, description="signature length (hash permutations)")
        bands: int = Field(
            16,
            gt=0,
            description="LSH bands; rows per band = num_perm / bands. 16 x 8 makes pairs at Jaccard 0.8 "
            "candidates with probability 0.95, at 0.9 with 0.9999, at 0.5 with 0.06",
        )
        ngram: int = Field(5, gt=0, description="words per shingle; 5 as in Lee et al. 2022 (Deduplicating Training Data)")
        threshold: float = Field(
            0.8,
            gt=0,
            le=1,
            description="near-duplicate when the estimated Jaccard similarity is at least this; 0.8 is the usual choice (Lee et al. 2022)",
        )
        seed: int = Field(0, description="seed of the hash permutations")

        @pydantic.model_validator(mode="after")
        def _bands_divide(self):
            if self.num_perm % self.bands:
                raise ValueError(f"bands ({self.bands}) must divide num_perm ({self.num_perm})")
            return self

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.hasher = MinHasher(cfg.num_perm, cfg.ngram, cfg.seed)
        self.index = LSHIndex(cfg.num_perm, cfg.bands)
        self.ids: list[str] = []

    def prepare(self, doc: dict[str, Any]) -> tuple[np.ndarray, list[int]]:
        sig = self.hasher.signature(doc["text"])
        return sig, band_keys(sig, self.cfg.bands)

    def admit(self, doc: dict[str, Any], prepared: tuple[np.ndarray, list[int]]) -> str | None:
        sig, keys = prepared
        hit = self.index.query(sig, keys, self.cfg.threshold)
        if hit is not None:
            other, j = hit
            return f"near_duplicate: jaccard {j:.2f}{self.ids[other]}"
        self.index.add(sig, keys)
        self.ids.append(_of(doc))
        return None

    def finish(self) -> dict[str, Any]:
        return {"indexed": len(self.index), "candidate_pairs_compared": self.index.candidates}


@hookimpl
def pathways_register_filters():
    return [ExactDedup, MinHashDedup]
