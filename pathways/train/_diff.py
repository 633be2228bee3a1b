"""Which pathways differ between two checkpoints, and by how much."""

from __future__ import annotations

import numpy as np

from pathways.train import _checkpoint as ckpt


def diff_checkpoints(a: str, b: str) -> dict[str, dict]:
    """Per pathway: parameters compared, how many changed, the largest absolute change.

    Pathways present in only one checkpoint are marked `only_in`.
    """
    pa, pb = ckpt.load(a).params, ckpt.load(b).params
    out: dict[str, dict] = {}
    for key in sorted(set(pa) | set(pb)):
        name = key.split(".", 1)[0]
        row = out.setdefault(name, {"params": 0, "changed": 0, "max_abs_change": 0.0})
        if key not in pa or key not in pb:
            row["only_in"] = "a" if key in pa else "b"
            continue
        x, y = pa[key], pb[key]
        row["params"] += x.size
        if x.shape != y.shape:
            row["changed"] += x.size
            row["shape_changed"] = True
            continue
        delta = np.abs(x.astype(np.float64) - y.astype(np.float64))
        row["changed"] += int(np.count_nonzero(delta))
        row["max_abs_change"] = max(row["max_abs_change"], float(delta.max(initial=0.0)))
    return out
