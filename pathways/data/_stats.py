"""What a config's data looks like before training on it: field types, token lengths, padding and packing."""

from __future__ import annotations

from typing import Any

import numpy as np

from pathways.data._batcher import Batcher
from pathways.data._inspect import summary
from pathways.data._packing import best_fit_decreasing


def stats(batcher: Batcher, *, limit: int | None = None, first: int = 3, bins: int = 12) -> dict[str, Any]:
    """Records, field types, the first records, and per token field its length distribution and row fill.

    Lengths are of the rendered tokens (bos and eos, chat template) of the first `limit`
    records (all by default). `fill` is the share of real tokens per row with one example
    per row (padded) and with best-fit-decreasing packing at the row length.
    """
    ds = batcher.dataset
    n = len(ds) if limit is None else min(limit, len(ds))
    records = [ds[i] for i in range(min(first, len(ds)))]
    out: dict[str, Any] = {
        "dataset": ds.type_name,
        "records": len(ds),
        "measured": n,
        "fields": {k: type(v).__name__ for k, v in records[0].items()} if records else {},
        "first": [{k: summary(v) for k, v in r.items()} for r in records],
        "tokens": {},
    }
    lengths: dict[str, list[int]] = {}
    for i in range(n):
        for name, ids in batcher.example(ds[i], i).items():
            if ids.dtype != bool:
                lengths.setdefault(name, []).append(len(ids))
    for name, values in lengths.items():
        row = batcher.batch[name].shape[-1]
        a = np.asarray(values)
        counts, edges = np.histogram(a, bins=bins)
        kept = np.minimum(a, row)
        packed_rows = len(best_fit_decreasing(kept.tolist(), row))
        out["tokens"][name] = {
            "row": int(row),
            "min": int(a.min()),
            "median": float(np.median(a)),
            "mean": float(a.mean()),
            "p95": float(np.percentile(a, 95)),
            "max": int(a.max()),
            "truncated": float((a > row).mean()),
            "histogram": [{"from": float(lo), "to": float(hi), "count": int(c)} for lo, hi, c in zip(edges[:-1], edges[1:], counts)],
            "fill": {"padded": float(kept.sum() / (len(a) * row)), "packed": float(kept.sum() / (packed_rows * row))},
        }
    return out
