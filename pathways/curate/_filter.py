"""The filter contract: what a curation filter is, and how a chain names one."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pydantic


class FilterConfig(pydantic.BaseModel):
    """Base of every filter's `Config`: unknown fields are errors, values are frozen."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


class Filter:
    """One step of a curation chain: keeps or drops one JSON document at a time.

    A document is a dict with a string `text` field; every other field passes
    through untouched (the Dolma/datatrove convention). A filter may add fields
    (`language_id` records `script` and `language`) or rewrite `text`
    (`c4_quality` removes lines); it says so in its docstring.

    Subclasses set `type_name` (the name a chain uses: `type: gopher_quality`)
    and `Config` (a `FilterConfig` subclass), and implement either

    * `keep(doc) -> str | None` (stateless: the decision depends on this document
      only, so the pipeline may run it in worker processes), or
    * `stateful = True` with `prepare(doc)` (stateless per-document work, such as
      hashing, that may run in a worker) and `admit(doc, prepared) -> str | None`
      (the decision against everything seen so far; always in the main process,
      in input order). `keep(doc)` is then `admit(doc, prepare(doc))`.

    A decision is `None` to keep the document or a short reason to drop it.
    Reasons read `"category: detail"`; the report counts them by the category
    (the text before the first colon) and shows the detail in its examples.
    """

    type_name: ClassVar[str]
    Config: ClassVar[type[FilterConfig]] = FilterConfig
    stateful: ClassVar[bool] = False

    def __init__(self, cfg: FilterConfig):
        self.cfg = cfg

    def setup(self, base_dir: Path) -> None:
        """Called once in every process that runs this filter, before its first document.

        Load files here (models, word lists); relative paths in the config resolve
        against `base_dir`, the folder of the chain's YAML file (else the working
        directory).
        """

    def keep(self, doc: dict[str, Any]) -> str | None:
        """`None` to keep `doc`, else a short reason (`"category: detail"`) to drop it."""
        if self.stateful:
            return self.admit(doc, self.prepare(doc))
        raise NotImplementedError(f"{type(self).__qualname__} does not implement keep(doc)")

    def prepare(self, doc: dict[str, Any]) -> Any:
        """Stateful filters: the per-document work that needs no state (may run in a worker)."""
        return None

    def admit(self, doc: dict[str, Any], prepared: Any) -> str | None:
        """Stateful filters: decide on `doc` given `prepare(doc)` and the state so far (main process)."""
        raise NotImplementedError(f"{type(self).__qualname__} does not implement admit(doc, prepared)")

    def finish(self) -> dict[str, Any] | None:
        """Called once after the last document, in the main process, on stateful filters.

        Returns statistics for the filter's entry in the report (e.g. how many
        documents the dedup index holds), or None.
        """
        return None


def check_filter(cls: type) -> str | None:
    """Why `cls` breaks the filter contract, or None. Used by the filter registry."""
    config = getattr(cls, "Config", None)
    if not (isinstance(config, type) and issubclass(config, FilterConfig)):
        return f"{cls.__qualname__}.Config is not a pathways.curate.FilterConfig subclass"
    method = "admit" if cls.stateful else "keep"
    if getattr(cls, method) is getattr(Filter, method):
        return f"{cls.__qualname__} does not implement {method}(...)"
    return None
