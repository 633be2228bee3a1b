"""Sequence packing: several examples per row, each its own segment.

With `data.packing: true` the batcher packs each epoch up front, as torchtune's
`PackedDataset` and NeMo's offline packing do: the records' token lengths are
measured once, the epoch's records are taken in the epoch's shuffled order and
placed best-fit-decreasing into rows of `T` tokens (an example longer than a row is
cut to it), and the rows are shuffled again. Row `r` of the epoch is then a pure
function of `(seed, epoch)`, so batches stay a function of the step and resume is
exact. Packed rows carry, besides the token fields:

    segment_ids [B, T] int32   1, 2, ... for the examples of a row, 0 on padding
    positions   [B, T] int32   0, 1, ... restarting in each segment (RoPE positions)

Wire them into the decoder (`segment_ids:` keeps attention inside a segment,
`positions:` restarts RoPE) and give the next-token loss `segment_ids:` so it never
predicts one example's first token from the previous example's last.
"""

from __future__ import annotations

import bisect
from typing import Any, Mapping

import numpy as np

from pathways._errors import ConfigError, Problem
from pathways.config import ChatSource, ResponseMask
from pathways.data._batcher import Batcher
from pathways.data._chat import messages_of, render
from pathways.data._dataset import Dataset

SEGMENT_FIELDS = ("segment_ids", "positions")


def best_fit_decreasing(lengths: list[int], capacity: int) -> list[list[int]]:
    """Indices of `lengths` grouped into bins of at most `capacity`: longest first, each into the fullest bin it fits.

    Free space is kept in a sorted list, so a placement is a bisection (N log N over an epoch).
    """
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (room left, bin), sorted
    for i in order:
        n = min(lengths[i], capacity)
        at = bisect.bisect_left(free, (n, -1))
        if at < len(free):
            room, b = free.pop(at)
            bins[b].append(i)
        else:
            room, b = capacity, len(bins)
            bins.append([i])
        if room - n > 0:
            bisect.insort(free, (room - n, b))
    return bins


def pack_row(pieces: list[dict[str, np.ndarray]], length: int, pad_id: int) -> dict[str, np.ndarray]:
    """One packed row from per-example fields (each `[n]`, the same `n` within an example), padded to `length`."""
    names = list(pieces[0])
    out = {name: [] for name in names}
    segments, positions = [], []
    for s, piece in enumerate(pieces, 1):
        n = min(len(piece[names[0]]), length - len(segments))
        for name in names:
            out[name].append(piece[name][:n])
        segments += [s] * n
        positions += list(range(n))
    row = {}
    for name in names:
        values = np.concatenate(out[name]) if out[name] else np.zeros(0)
        fill = pad_id if np.issubdtype(values.dtype, np.integer) else False
        row[name] = np.concatenate([values, np.full(length - len(values), fill, values.dtype)])
    row["segment_ids"] = np.asarray(segments + [0] * (length - len(segments)), np.int32)
    row["positions"] = np.asarray(positions + [0] * (length - len(positions)), np.int32)
    return row


def efficiency(rows: dict[str, np.ndarray]) -> float:
    """Share of real (non-padding) positions in packed rows."""
    seg = rows["segment_ids"]
    return float((seg > 0).mean())


class PackedBatcher(Batcher):
    """A `Batcher` whose rows hold several examples each (see the module docstring).

    Every batch field is a token field (`[B, T]` int, from text or a chat source), a
    response mask of one, or one of `segment_ids` / `positions`, which the packer fills.
    """

    def __init__(self, dataset: Dataset, batch: Mapping[str, Any], fields: Mapping[str, Any], tokenizer, *, seed: int = 0, at: str = "data"):
        problems = packing_problems(batch, fields, at)
        if problems:
            raise ConfigError(problems)
        super().__init__(dataset, {k: v for k, v in batch.items() if k not in SEGMENT_FIELDS}, fields, tokenizer, seed=seed, at=at, whole_batches=False)
        self.packed_batch = dict(batch)
        self.length = next(v.shape[1] for k, v in batch.items() if k not in SEGMENT_FIELDS)
        self._lengths: list[int] | None = None
        self._rows_per_epoch: list[int] = []
        self._layout: tuple[int, list[list[int]]] | None = None
        self.per_epoch = max(self.rows(0) // self.batch_size, 1)  # of the first epoch; later ones differ by a row or so

    def describe(self) -> str:
        """One line for the start of a run: how full packed rows are, against one example per row."""
        lengths = [min(n, self.length) for n in self.lengths()]
        rows = self.rows(0)
        packed, padded = sum(lengths) / (rows * self.length), sum(lengths) / (len(lengths) * self.length)
        return (
            f"packing: {len(lengths):,} examples in {rows:,} rows of {self.length} tokens; {packed:.1%} of positions are real tokens "
            f"(one example per row: {padded:.1%}, {packed / padded:.2f}x fewer rows)"
        )

    def lengths(self) -> list[int]:
        """Every record's token count (measured once)."""
        if self._lengths is None:
            first = next(n for n, s in self.fields.items() if not isinstance(s, ResponseMask))
            self._lengths = [len(self.example(self.dataset[i], i)[first]) for i in range(len(self.dataset))]
        return self._lengths

    def layout(self, epoch: int) -> list[list[int]]:
        """The records of each row of `epoch`, rows in training order."""
        if self._layout is None or self._layout[0] != epoch:
            order = np.random.default_rng([self.seed, epoch]).permutation(len(self.dataset))
            lengths = self.lengths()
            bins = best_fit_decreasing([lengths[i] for i in order], self.length)
            rows = [[int(order[j]) for j in b] for b in bins]
            shuffle = np.random.default_rng([self.seed, epoch, 1]).permutation(len(rows))
            self._layout = (epoch, [rows[r] for r in shuffle])
        return self._layout[1]

    def rows(self, epoch: int) -> int:
        while len(self._rows_per_epoch) <= epoch:
            self._rows_per_epoch.append(len(self.layout(len(self._rows_per_epoch))))
        return self._rows_per_epoch[epoch]

    def _where(self, step: int) -> tuple[int, int]:
        """(epoch, first row) of batch `step`: each epoch gives its whole batches of rows."""
        epoch = 0
        while step >= (n := self.rows(epoch) // self.batch_size):
            step -= n
            epoch += 1
        return epoch, step * self.batch_size

    def counts(self, step: int, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """Real tokens and positions, from which the loop logs `packing_efficiency`."""
        seg = batch["segment_ids"]
        return {"data/real_tokens": float((seg > 0).sum()), "data/positions": float(seg.size)}

    def batch_at(self, step: int) -> dict[str, np.ndarray]:
        epoch, first = self._where(step)
        pad = self.tokenizer.pad_id
        rows = []
        for ids in self.layout(epoch)[first : first + self.batch_size]:
            rows.append(pack_row([self.example(self.dataset[i], i) for i in ids], self.length, pad))
        return {name: np.stack([r[name] for r in rows]).astype(spec.dtype) for name, spec in self.packed_batch.items()}


def packing_problems(batch: Mapping[str, Any], fields: Mapping[str, Any], at: str = "data") -> list[Problem]:
    """Packing fills `segment_ids` and `positions` and packs token fields; anything else in the batch is a problem."""
    problems = []
    tokens = [name for name in batch if name not in SEGMENT_FIELDS]
    for name in SEGMENT_FIELDS:
        if name not in batch:
            problems.append(Problem(f"batch.{name}", f"packing fills batch.{name}: declare it as {{shape: [B, T], dtype: int32}} and wire it in (docs: README, packing)"))
        elif len(batch[name].shape) != 2 or not np.issubdtype(np.dtype(batch[name].dtype), np.integer):
            problems.append(Problem(f"batch.{name}", f"packed {name} are int [B, T], not {list(batch[name].shape)} {batch[name].dtype}"))
        if name in fields:
            problems.append(Problem(f"{at}.fields.{name}", f"packing fills batch.{name}: give it no source"))
    shapes = {tuple(batch[n].shape) for n in tokens if len(batch[n].shape) == 2}
    for name in tokens:
        source, spec = fields.get(name), batch[name]
        if isinstance(source, ResponseMask):
            continue
        if len(spec.shape) != 2 or not np.issubdtype(np.dtype(spec.dtype), np.integer):
            problems.append(Problem(f"batch.{name}", f"packing packs token fields ([B, T] int from text or chat records); batch.{name} {list(spec.shape)} {spec.dtype} is not one (image prefixes are not packed yet)"))
    if len(shapes) > 1:
        problems.append(Problem("data.packing", f"packed fields share one row length; the batch has {', '.join(str(list(x)) for x in shapes)}"))
    return problems
