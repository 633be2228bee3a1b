"""Parallel names from the Unicode CLDR, as shipped in `babel`: territories, languages, months, days (built-in plugin)."""

from __future__ import annotations

import functools
from typing import Literal

import pydantic

from pathways._markers import hookimpl
from pathways.data._dataset import Dataset, DatasetConfig
from pathways.data._split import keep

Kind = Literal["territories", "languages", "months", "days"]


def _names(locale: str, kind: str) -> dict[str, str]:
    """CLDR names of one kind in one locale, keyed by code ("DE", "fr", "month-1", "day-0" for Monday)."""
    from babel import Locale

    loc = Locale.parse(locale)
    if kind == "months":
        return {f"month-{k}": v for k, v in loc.months["format"]["wide"].items()}
    if kind == "days":
        return {f"day-{k}": v for k, v in loc.days["format"]["wide"].items()}
    return dict(getattr(loc, kind).items())


@functools.cache
def _pairs(source: str, target: str, kinds: tuple[str, ...]) -> list[tuple[str, str, str, str]]:
    """(kind, key, source name, target name) for every key named in both locales, sorted."""
    rows = []
    for kind in kinds:
        src, tgt = _names(source, kind), _names(target, kind)
        rows += [(kind, key, src[key], tgt[key]) for key in sorted(src.keys() & tgt.keys())]
    return rows


class CLDRTranslation(Dataset):
    """Word and name translations between any two CLDR locales: "Germany" -> "Allemagne", "Monday" -> "lundi".

    Records: `source`, `target` (the same item named in each locale), `text`
    ("Germany => Allemagne"), `pair` ("en-fr"), `kind` and `key` (the CLDR code).
    Locales are babel's (`en`, `fr`, `ja`, `ru`, `ar`, `zh_Hant`, ... over 1,000).
    Splits: `train` and `test` (about 20%) by hashing kind and key, so an item is
    held out for every locale pair alike. en -> fr has about 1,000 records.
    """

    type_name = "cldr_translation"
    fields = {
        "source": "name in the source locale, e.g. 'Germany'",
        "target": "name in the target locale, e.g. 'Allemagne'",
        "text": "'source => target', e.g. 'Germany => Allemagne'",
        "pair": "locale pair, e.g. 'en-fr'",
        "kind": "territories, languages, months or days",
        "key": "CLDR code of the item, e.g. 'DE', 'month-1'",
    }

    class Config(DatasetConfig):
        split: Literal["train", "test"] = "train"
        source: str = "en"
        target: str = "fr"
        kinds: tuple[Kind, ...] = ("territories", "languages", "months", "days")

        @pydantic.field_validator("source", "target")
        @classmethod
        def _locale(cls, v: str) -> str:
            from babel import Locale, UnknownLocaleError

            try:
                Locale.parse(v)
            except (UnknownLocaleError, ValueError) as exc:
                raise ValueError(f"unknown CLDR locale {v!r} ({exc})") from None
            return v

    def __init__(self, cfg: Config):
        super().__init__(cfg)
        self.rows = [r for r in _pairs(cfg.source, cfg.target, tuple(cfg.kinds)) if keep(f"{r[0]}/{r[1]}", cfg.split)]

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int):
        kind, key, source, target = self.rows[index]
        pair = f"{self.cfg.source}-{self.cfg.target}"
        return {"source": source, "target": target, "text": f"{source} => {target}", "pair": pair, "kind": kind, "key": key}


@hookimpl
def pathways_register_datasets():
    return [CLDRTranslation]
