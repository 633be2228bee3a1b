"""What evaluation reports: one `Score` per metric, and `Result` rows that name the model too."""

from __future__ import annotations

import dataclasses
import math
from typing import Any


@dataclasses.dataclass(frozen=True)
class Score:
    """One metric of one task: `value` over `n` examples (None when no example could be scored).

    `skipped` counts examples that did not fit the model's context; `details` holds
    what else a runner reports (token counts, the generation budget, ...).
    """

    kind: str
    metric: str
    value: float | None
    n: int
    skipped: int = 0
    details: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Result:
    """A `Score` of a named task for an identified model: a row of `pathways eval --out`."""

    task: str
    score: Score
    model: dict[str, Any]  # checkpoint, config_sha256, step

    def to_dict(self) -> dict[str, Any]:
        s = self.score
        value = None if s.value is None or not math.isfinite(s.value) else s.value
        return {"task": self.task, "kind": s.kind, "metric": s.metric, "value": value, "n": s.n, "skipped": s.skipped, **self.model, **s.details}
