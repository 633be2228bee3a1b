"""Deterministic train/test splits by hashing a record's key: stable across runs, machines and Python versions."""

from __future__ import annotations

import hashlib


def in_test(key: str, fraction: float = 0.2) -> bool:
    """True when `key` falls in the held-out `fraction` (SHA-256, so not affected by PYTHONHASHSEED)."""
    h = int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")
    return h / 2**64 < fraction


def keep(key: str, split: str, fraction: float = 0.2) -> bool:
    """Whether the record with `key` belongs to `split` ("train" or "test")."""
    return in_test(key, fraction) == (split == "test")
