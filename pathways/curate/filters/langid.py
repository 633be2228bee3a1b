"""`language_id`: record each document's script and language; optionally keep only some (built-in plugin)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pathways._markers import hookimpl
from pathways.curate._filter import Filter, FilterConfig
from pathways.curate._langid import identify


class LanguageId(Filter):
    """Set `doc["script"]` (`Latin`, `Cyrillic`, `Han`, `Japanese`, ...; `unknown` without letters)
    and `doc["language"]` (ISO 639-1; `und` when undetermined), overwriting fields of those names.
    Later filters read them (`gopher_quality` applies its English stop-word rule by language).
    Offline and model-free: see `pathways.curate.identify`."""

    type_name = "language_id"

    class Config(FilterConfig):
        keep_languages: tuple[str, ...] | None = Field(
            None, description="keep only documents in these languages (ISO 639-1, e.g. [en, fr]; `und` for undetermined); null: keep all"
        )
        keep_scripts: tuple[str, ...] | None = Field(
            None, description="keep only documents in these scripts (e.g. [Latin, Cyrillic]); null: keep all"
        )

    def keep(self, doc: dict[str, Any]) -> str | None:
        script, language = identify(doc["text"])
        doc["script"], doc["language"] = script, language
        if self.cfg.keep_scripts is not None and script not in self.cfg.keep_scripts:
            return f"script: {script}"
        if self.cfg.keep_languages is not None and language not in self.cfg.keep_languages:
            return f"language: {language}"
        return None


@hookimpl
def pathways_register_filters():
    return [LanguageId]
