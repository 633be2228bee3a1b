"""What a curation run did: per filter, documents seen, kept and dropped, with reasons and examples."""

from __future__ import annotations

import collections
import dataclasses
from typing import Any

EXAMPLES_PER_REASON = 3  # dropped documents shown per reason category
MAX_EXAMPLES = 12  # per filter
EXAMPLE_CHARS = 200  # text shown per example
MAX_MALFORMED = 100  # malformed lines listed (all are counted)


def category(reason: str) -> str:
    """The part of a drop reason the report counts by: the text before the first colon."""
    return reason.split(":", 1)[0].strip()


def excerpt(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS] + "…"


@dataclasses.dataclass
class FilterStats:
    """Counts for one step of the chain; `seen == kept + dropped` always."""

    name: str
    type: str
    plugin: str
    stateful: bool
    config: dict[str, Any]
    seen: int = 0
    kept: int = 0
    dropped: int = 0
    reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)
    examples: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    stats: dict[str, Any] | None = None

    def drop(self, line: int, reason: str, text: str) -> None:
        self.seen += 1
        self.dropped += 1
        cat = category(reason)
        self.reasons[cat] += 1
        if self.reasons[cat] <= EXAMPLES_PER_REASON and len(self.examples) < MAX_EXAMPLES:
            self.examples.append({"line": line, "reason": reason, "text": excerpt(text)})

    def to_json(self) -> dict[str, Any]:
        out = {
            "name": self.name,
            "type": self.type,
            "plugin": self.plugin,
            "stateful": self.stateful,
            "config": self.config,
            "seen": self.seen,
            "kept": self.kept,
            "dropped": self.dropped,
            "reasons": dict(self.reasons.most_common()),
            "examples": self.examples,
        }
        if self.stats:
            out["stats"] = self.stats
        return out
