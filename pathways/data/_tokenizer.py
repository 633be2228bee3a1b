"""Tokenizers: text to token ids and back. Id 0 is always padding."""

from __future__ import annotations

import numpy as np


class ByteTokenizer:
    """UTF-8 bytes as tokens (ByT5-style): never an unknown input, no training needed.

    Ids: 0 pad, 1 bos, 2 eos, then byte `b` is `b + 3`; `vocab_size` is 259.
    """

    pad_id, bos_id, eos_id = 0, 1, 2
    offset = 3
    vocab_size = 256 + 3
    name = "bytes"

    @property
    def identity(self) -> dict:
        """What a checkpoint records to know which tokenizer its embeddings belong to."""
        return {"type": "bytes", "vocab_size": self.vocab_size}

    def encode(self, text: str, *, bos: bool = True, eos: bool = True) -> list[int]:
        ids = [b + self.offset for b in text.encode("utf-8")]
        return ([self.bos_id] if bos else []) + ids + ([self.eos_id] if eos else [])

    def decode(self, ids) -> str:
        data = bytes(int(i) - self.offset for i in ids if int(i) >= self.offset)
        return data.decode("utf-8", errors="replace")

    def pad(self, ids: list[int], length: int) -> np.ndarray:
        """Truncate or right-pad `ids` with `pad_id` to `length`."""
        out = np.full(length, self.pad_id, dtype=np.int32)
        ids = ids[:length]
        out[: len(ids)] = ids
        return out
