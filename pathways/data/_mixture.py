"""Weighted mixtures of datasets, as a pure function of `(seed, step)`.

Example `g` of the run (batch `g // B`, row `g % B`) comes from source `k` with
probability `w_k / sum(w)`, drawn from the seed alone, as Hugging Face's
`interleave_datasets(probabilities=..., seed=...)` does. Within a source, its
`n`-th example is record `permutation(seed, k, epoch)[n % len]`, so each source is
read in epochs of its own, without repeats inside one. The draws are made in
chunks of `CHUNK` examples whose per-source totals are kept, so resuming at step
`s` costs one pass over `s * B / CHUNK` chunks (a few seconds at 10^8 examples)
and never a pass over the data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pathways.data._batcher import Batcher

CHUNK = 1 << 16


class MixtureBatcher:
    """Batches whose rows come from several `Batcher`s (one per source), in proportion to their weights.

    Each source's batcher collates its own rows (its own field mapping and chat
    templates); the rows are put back in draw order. `names` label the sources in
    metrics (`data/<name>/examples`, `data/<name>/tokens`).
    """

    def __init__(self, sources: list[Batcher], weights: list[float], names: list[str], *, seed: int = 0):
        total = float(sum(weights))
        self.sources, self.names, self.seed = sources, names, seed
        self.p = np.asarray(weights, np.float64) / total
        self.batch = sources[0].batch
        self.batch_size = sources[0].batch_size
        self.per_epoch = max(sum(len(s.dataset) for s, w in zip(sources, weights) if w > 0) // self.batch_size, 1)
        self._totals = [np.zeros(len(sources), np.int64)]  # per-source examples drawn before chunk c
        self._chunk, self._choice, self._rank = None, None, None
        self._orders: dict[tuple[int, int], np.ndarray] = {}

    def _draws(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Chunk `c`'s source per example and each example's rank among its source's draws in the chunk."""
        if self._chunk != c:
            choice = np.random.default_rng([self.seed, 0x6D697854, c]).choice(len(self.sources), size=CHUNK, p=self.p)
            rank = np.empty(CHUNK, np.int64)
            for k in range(len(self.sources)):
                where = choice == k
                rank[where] = np.arange(int(where.sum()))
            self._chunk, self._choice, self._rank = c, choice, rank
        return self._choice, self._rank

    def _before(self, c: int) -> np.ndarray:
        """Per-source examples drawn before chunk `c` (the earlier chunks' draws, replayed once and kept)."""
        while len(self._totals) <= c:
            n = len(self._totals) - 1
            choice = np.random.default_rng([self.seed, 0x6D697854, n]).choice(len(self.sources), size=CHUNK, p=self.p)
            self._totals.append(self._totals[-1] + np.bincount(choice, minlength=len(self.sources)))
        return self._totals[c]

    def draws(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Source of each row of batch `step` and its example number within that source."""
        sources, numbers = [], []
        for g in range(step * self.batch_size, (step + 1) * self.batch_size):
            c, i = divmod(g, CHUNK)
            choice, rank = self._draws(c)
            k = int(choice[i])
            sources.append(k)
            numbers.append(int(self._before(c)[k] + rank[i]))
        return np.asarray(sources), np.asarray(numbers)

    def _record(self, k: int, n: int) -> int:
        size = len(self.sources[k].dataset)
        epoch, offset = divmod(n, size)
        if (k, epoch) not in self._orders:
            self._orders = {key: v for key, v in self._orders.items() if key[0] != k}  # one epoch per source kept
            self._orders[(k, epoch)] = np.random.default_rng([self.seed, k, epoch]).permutation(size)
        return int(self._orders[(k, epoch)][offset])

    def batch_at(self, step: int) -> dict[str, np.ndarray]:
        sources, numbers = self.draws(step)
        parts: dict[int, dict[str, np.ndarray]] = {}
        for k in np.unique(sources):
            ids = [self._record(int(k), int(n)) for n in numbers[sources == k]]
            source = self.sources[int(k)]
            parts[int(k)] = source.collate([source.dataset[i] for i in ids], ids)
        out = {}
        for name, spec in self.batch.items():
            arr = np.empty(spec.shape, spec.dtype)
            for k, part in parts.items():
                arr[sources == k] = part[name]
            out[name] = arr
        return out

    def counts(self, step: int, batch: dict[str, Any]) -> dict[str, float]:
        """Examples and real (non-padding) tokens per source in batch `step`, as metrics."""
        sources, _ = self.draws(step)
        tokens = _real_tokens(batch, self.batch, self.sources[0].tokenizer)
        out = {}
        for k, name in enumerate(self.names):
            rows = sources == k
            out[f"data/{name}/examples"] = float(rows.sum())
            out[f"data/{name}/tokens"] = float(tokens[rows].sum())
        return out


def _real_tokens(batch: dict[str, Any], specs, tokenizer) -> np.ndarray:
    """Non-padding tokens per row over the batch's int `[B, T]` fields (0 per row when there are none)."""
    pad = getattr(tokenizer, "pad_id", 0)
    rows = next(iter(batch.values())).shape[0]
    total = np.zeros(rows, np.int64)
    for name, spec in specs.items():
        if len(spec.shape) == 2 and np.issubdtype(spec.dtype, np.integer):
            total += (np.asarray(batch[name]) != pad).sum(axis=1)
    return total
