"""Turn dataset records into the batch fields a config declares.

Batches are a pure function of `(seed, step)`: epoch `e` visits the records in
the order `permutation(seed, e)`, so a resumed run sees exactly the batches an
uninterrupted one would.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import numpy as np

from pathways._errors import ConfigError, Problem
from pathways.data._dataset import Dataset


class Batcher:
    """Map batch fields to record fields, tokenizing and padding text fields.

    `fields` maps each batch field to a record field. A batch field of integer
    dtype fed from a string is tokenized (bos ... eos) and padded/truncated to
    its last dimension; any other field is stacked as is and must match its spec.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch: Mapping[str, jax.ShapeDtypeStruct],
        fields: Mapping[str, str],
        tokenizer,
        *,
        seed: int = 0,
    ):
        problems = []
        for name in batch:
            if name not in fields:
                problems.append(Problem(f"data.fields.{name}", f"batch field {name!r} has no source: map it to one of {', '.join(dataset.fields)}"))
        for name, source in fields.items():
            if name not in batch:
                problems.append(Problem(f"data.fields.{name}", f"{name!r} is not a batch field (fields: {', '.join(batch)})"))
            elif source not in dataset.fields:
                problems.append(Problem(f"data.fields.{name}", f"dataset {dataset.type_name!r} has no field {source!r} (fields: {', '.join(dataset.fields)})"))
        if problems:
            raise ConfigError(problems)
        self.dataset, self.batch, self.fields, self.tokenizer, self.seed = dataset, dict(batch), dict(fields), tokenizer, seed
        self.batch_size = next(iter(batch.values())).shape[0]
        if len(dataset) < self.batch_size:
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
        index = self.indices(step)
        return self.collate([self.dataset[int(i)] for i in index], first_index=int(index[0]))

    def collate(self, records: list[dict[str, Any]], first_index: int = 0) -> dict[str, np.ndarray]:
        out = {}
        for name, spec in self.batch.items():
            source = self.fields[name]
            values = []
            for i, rec in enumerate(records):
                if source not in rec:
                    raise ConfigError([Problem(f"data.fields.{name}", f"record {first_index + i} has no field {source!r}")])
                v = rec[source]
                if isinstance(v, str) and np.issubdtype(spec.dtype, np.integer):
                    if self.tokenizer is None:
                        raise ConfigError([Problem("tokenizer", f"batch.{name} is text ({source!r}) to tokenize: name a tokenizer (`tokenizer: bytes` or a .model path)")])
                    v = self.tokenizer.pad(self.tokenizer.encode(v), spec.shape[-1])
                values.append(np.asarray(v, dtype=spec.dtype))
            arr = np.stack(values)
            if arr.shape != spec.shape:
                raise ConfigError([Problem(f"batch.{name}", f"records give shape {list(arr.shape)}, the config declares {list(spec.shape)}")])
            out[name] = arr
        return out
