"""Turn dataset records into the batch fields a config declares.

Batches are a pure function of `(seed, step)`: epoch `e` visits the records in
the order `permutation(seed, e)`, so a resumed run sees exactly the batches an
uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import numpy as np

from pathways._errors import ConfigError, Problem
from pathways.config import ChatSource, ResponseMask
from pathways.data._chat import default_template, messages_of, padded, render
from pathways.data._dataset import Dataset
from pathways.data.user_files import ImageBytes, ImagePath


def _image(path: str | ImageBytes, shape: tuple[int, ...], field: str, record: int) -> np.ndarray:
    """The image a record names or holds, `[H, W, C]` float32 in [0, 1] (resized to the batch field's size)."""
    import io

    from pathways.components import MediaError, load_image

    try:
        if isinstance(path, ImageBytes):
            try:
                return load_image(io.BytesIO(path), *shape)
            except MediaError as exc:
                raise MediaError([dataclasses.replace(p, file=path.where) for p in exc.problems]) from None
        return load_image(path, *shape)
    except MediaError as exc:
        raise ConfigError([Problem(f"batch.{field}", f"record {record}: {p.message}", p.file) for p in exc.problems]) from None


class Batcher:
    """Map batch fields to record fields, tokenizing and padding text fields.

    `fields` maps each batch field to a record field. A batch field of integer
    dtype fed from a string is tokenized (bos ... eos) and padded/truncated to
    its last dimension; one fed from a `ChatSource` is rendered through a chat
    template, and a `ResponseMask` field marks that rendering's reply tokens; an
    image path is decoded for a float `[B, H, W, C]` field; any other field is
    stacked as is and must match its spec. `at` is where `fields` sit in the
    config (`data`, or `data.mixture.N`), for error messages.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch: Mapping[str, jax.ShapeDtypeStruct],
        fields: Mapping[str, Any],
        tokenizer,
        *,
        seed: int = 0,
        at: str = "data",
        whole_batches: bool = True,
    ):
        problems = [
            Problem(f"{at}.fields.{name}", f"batch field {name!r} has no source: map it to one of {', '.join(dataset.fields)}")
            for name in batch
            if name not in fields
        ]
        problems += source_problems(fields, batch, dataset.fields, dataset.type_name, at)
        if problems:
            raise ConfigError(problems)
        self.dataset, self.batch, self.fields, self.tokenizer, self.seed, self.at = dataset, dict(batch), dict(fields), tokenizer, seed, at
        self.templates = {name: src.template or default_template(tokenizer) for name, src in self.fields.items() if isinstance(src, ChatSource)}
        self.batch_size = next(iter(batch.values())).shape[0]
        if whole_batches and len(dataset) < self.batch_size:
            raise ConfigError(f"dataset {dataset.type_name!r} has {len(dataset)} records, fewer than one batch of {self.batch_size}")
        self.per_epoch = len(dataset) // self.batch_size
        self._epoch, self._order = None, None

    def indices(self, step: int) -> np.ndarray:
        """Record indices of batch number `step` (0-based)."""
        epoch, offset = divmod(step, self.per_epoch)
        if self._epoch != epoch:  # one permutation per epoch, not one per batch
            self._order = np.random.default_rng([self.seed, epoch]).permutation(len(self.dataset))
            self._epoch = epoch
        return self._order[offset * self.batch_size : (offset + 1) * self.batch_size]

    def batch_at(self, step: int) -> dict[str, np.ndarray]:
        index = [int(i) for i in self.indices(step)]
        return self.collate([self.dataset[i] for i in index], index)

    def counts(self, step: int, batch: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics of batch `step` for metrics.jsonl, summed over a log window (none for plain batches)."""
        return {}

    def collate(self, records: list[dict[str, Any]], ids: list[int] | None = None) -> dict[str, np.ndarray]:
        """Batch fields of `records`; `ids` are their record numbers, which errors name (default 0, 1, ...)."""
        ids = list(range(len(records))) if ids is None else ids
        rows = {name: spec.shape[1:] for name, spec in self.batch.items()}
        out, masks = {}, {}
        for name, spec in self.batch.items():  # chat fields first: they make the response masks
            if isinstance(self.fields[name], ChatSource):
                out[name], masks[name] = self._chat(name, spec, records, ids)
        for name, spec in self.batch.items():
            source = self.fields[name]
            if isinstance(source, ChatSource):
                continue
            if isinstance(source, ResponseMask):
                out[name] = masks[source.response_of].astype(spec.dtype)
                continue
            values = []
            for i, rec in zip(ids, records):
                if source not in rec:
                    raise ConfigError([Problem(f"{self.at}.fields.{name}", f"record {i} has no field {source!r}")])
                v = rec[source]
                if isinstance(v, (ImagePath, ImageBytes)) and len(spec.shape) == 4 and np.issubdtype(spec.dtype, np.floating):
                    v = _image(v, spec.shape[1:], name, i)
                elif isinstance(v, str) and np.issubdtype(spec.dtype, np.integer):
                    if self.tokenizer is None:
                        raise ConfigError([Problem("tokenizer", f"batch.{name} is text ({source!r}) to tokenize: name a tokenizer (`tokenizer: bytes` or a .model path)")])
                    v = self.tokenizer.pad(self.tokenizer.encode(v), spec.shape[-1])
                values.append(np.asarray(v, dtype=spec.dtype))
            arr = np.stack(values)
            if arr.shape[1:] != tuple(rows[name]):
                raise ConfigError([Problem(f"batch.{name}", f"records give shape {list(arr.shape[1:])} per row, the config declares {list(rows[name])}")])
            out[name] = arr
        return out

    def example(self, record: dict[str, Any], i: int) -> dict[str, np.ndarray]:
        """One record's token fields unpadded, and their response masks (what packing concatenates, what `data stats` measures)."""
        out, masks = {}, {}
        for name, spec in self.batch.items():
            source = self.fields[name]
            if isinstance(source, ChatSource):
                ids, mask = render(messages_of(record, source, i, f"{self.at}.fields.{name}"), self.tokenizer, self.templates[name])
                out[name], masks[name] = np.asarray(ids, spec.dtype), np.asarray(mask, bool)
            elif not isinstance(source, ResponseMask) and len(spec.shape) == 2 and np.issubdtype(spec.dtype, np.integer):
                if source not in record:
                    raise ConfigError([Problem(f"{self.at}.fields.{name}", f"record {i} has no field {source!r}")])
                if isinstance(record[source], str):  # text to tokenize (not ids given as they are)
                    out[name] = np.asarray(self.tokenizer.encode(record[source]), spec.dtype)
        for name, source in self.fields.items():
            if isinstance(source, ResponseMask):
                out[name] = masks[source.response_of]
        return out

    def _chat(self, name: str, spec, records: list[dict[str, Any]], ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Token ids and response masks of a chat-rendered batch field."""
        if self.tokenizer is None:
            raise ConfigError([Problem("tokenizer", f"batch.{name} is rendered from chat records: name a tokenizer")])
        tokens, masks = [], []
        for i, rec in zip(ids, records):
            turns = messages_of(rec, self.fields[name], i, f"{self.at}.fields.{name}")
            row, mask = padded(*render(turns, self.tokenizer, self.templates[name]), spec.shape[-1], self.tokenizer.pad_id)
            tokens.append(row)
            masks.append(mask)
        return np.stack(tokens).astype(spec.dtype), np.stack(masks)


def source_problems(fields: Mapping[str, Any], batch: Mapping[str, Any], record_fields, dataset: str, at: str = "data") -> list[Problem]:
    """Every source names a batch field and record fields the dataset has (none declared: checked when the files open).

    `at` is where the sources sit in the config: `data`, or `data.mixture.N`.
    """
    problems = []
    for name, source in fields.items():
        where = f"{at}.fields.{name}"
        if name not in batch:
            problems.append(Problem(where, f"{name!r} is not a batch field (fields: {', '.join(batch) or 'none'})"))
            continue
        try:
            dtype = np.dtype(batch[name].dtype)
        except TypeError:
            continue  # the batch section's own check names it
        if isinstance(source, ResponseMask):
            chat = fields.get(source.response_of)
            if not isinstance(chat, ChatSource):
                problems.append(Problem(f"{where}.response_of", f"{source.response_of!r} is not a batch field rendered from chat records ({{messages: FIELD}} or {{prompt:, response:}})"))
            elif tuple(batch[name].shape) != tuple(batch[source.response_of].shape):
                problems.append(Problem(where, f"shape {list(batch[name].shape)} differs from batch.{source.response_of}'s {list(batch[source.response_of].shape)}"))
            if dtype != np.bool_:
                problems.append(Problem(where, f"a response mask is bool, batch.{name} is {dtype}"))
            continue
        if isinstance(source, ChatSource):
            if not np.issubdtype(dtype, np.integer):
                problems.append(Problem(where, f"chat records render to token ids: batch.{name} must be an int field, not {dtype}"))
            names = source.record_fields
        else:
            names = [source]
        for field in names:
            if record_fields and field not in record_fields:
                problems.append(Problem(where, f"dataset {dataset!r} has no field {field!r} (fields: {', '.join(record_fields)})"))
    return problems
