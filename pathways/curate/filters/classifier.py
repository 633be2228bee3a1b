"""`classifier`: keep or drop documents by a trained classifier's probability (built-in plugin).

One filter for quality and for safety: train the same hashed n-gram classifier
(`pathways data train-classifier`) on quality labels and keep documents likely
to be good (`action: keep`), or on safety labels and drop documents likely to be
unsafe (`action: drop`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from pathways._errors import ConfigError, PathwaysError, Problem
from pathways._markers import hookimpl
from pathways.curate._classifier import HashedNgramClassifier
from pathways.curate._filter import Filter, FilterConfig
from pathways.curate._report import excerpt


class Classifier(Filter):
    """Score `P(label)` with a saved `HashedNgramClassifier`: `action: keep` keeps documents
    with `P >= threshold` (a quality model), `action: drop` drops them (a safety or spam
    model). With `score_field`, the probability is written into the document."""

    type_name = "classifier"

    class Config(FilterConfig):
        model: str = Field(description="directory written by `pathways data train-classifier` (relative to the chain's YAML file)")
        label: str = Field(description="the class whose probability is compared with the threshold")
        threshold: float = Field(0.5, ge=0, le=1, description="probability threshold")
        action: Literal["keep", "drop"] = Field("keep", description="keep: keep documents with P(label) >= threshold; drop: drop them")
        score_field: str | None = Field(None, description="write P(label) into this document field (null: don't)")

    def setup(self, base_dir: Path) -> None:
        try:
            self.model = HashedNgramClassifier.load(base_dir / self.cfg.model)
        except PathwaysError as exc:
            raise ConfigError([Problem("classifier.model", str(p)) for p in exc.problems]) from None
        if self.cfg.label not in self.model.labels:
            raise ConfigError(
                [Problem("classifier.label", f"{self.cfg.label!r} is not a label of the model (labels: {', '.join(self.model.labels)})")]
            )
        self.column = self.model.labels.index(self.cfg.label)

    def keep(self, doc: dict[str, Any]) -> str | None:
        c = self.cfg
        p = float(self.model.predict_proba([doc["text"]])[0, self.column])
        if not np.isfinite(p):  # fail closed: NaN compares false both ways, so a safety filter would keep it
            raise PathwaysError([Problem("classifier", f"P({c.label}) is {p} for the document {excerpt(doc['text'])!r}: the model {c.model} is damaged")])
        if c.score_field is not None:
            doc[c.score_field] = round(p, 6)
        if c.action == "keep" and p < c.threshold:
            return f"not_{c.label}: p={p:.3f} < {c.threshold}"
        if c.action == "drop" and p >= c.threshold:
            return f"{c.label}: p={p:.3f} >= {c.threshold}"
        return None


@hookimpl
def pathways_register_filters():
    return [Classifier]
