"""The `data`, `train` and `mesh` sections, checked as the graph is: nothing allocated, no record read.

A run that would fail on its first batch (an unknown dataset, a batch field with
no source, a batch that does not split over the devices), when choosing what
trains (a pathway that is not there, an unknown adapter or a bad adapter setting)
or when placing its parameters (a mesh that does not fit, a dimension its axis
does not divide) fails at `pathways validate` instead, before any compute is spent.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import jax

from pathways._errors import ConfigError, Problem


def data_problems(spec) -> list[Problem]:
    """Each dataset is registered, its configs validate, and its `fields` map every batch field to a record field.

    Only the dataset's class is looked at (`Config` and `fields`): it is never
    instantiated, so no data is downloaded or read. A mixture is checked source by source.
    """
    from pathways.data import SEGMENT_FIELDS, packing_problems, source_problems
    from pathways.plugins import dataset_registry

    if spec.data is None:
        return []
    registry, problems = dataset_registry(), []
    for at, source in spec.data.sources:
        parts = tuple(at.split("."))
        entry, _, found = registry.configure(source.dataset, source.config, type_at=(*parts, "dataset"), config_at=(*parts, "config"))
        problems += found
        if entry is None and source.dataset not in registry:
            continue
        cls = registry.get(source.dataset).cls
        if source.eval_config is not None:
            problems += registry.configure(source.dataset, source.eval_config, type_at=(*parts, "dataset"), config_at=(*parts, "eval_config"))[2]
        records = ", ".join(cls.fields) or "the files' own"
        filled = SEGMENT_FIELDS if spec.data.packing else ()
        for name in spec.batch:
            if name not in source.fields and name not in filled:
                problems.append(Problem(f"{at}.fields.{name}", f"batch field {name!r} has no source: map it to one of {records}"))
        problems += source_problems(source.fields, {k: v for k, v in spec.batch.items() if k not in filled}, cls.fields, source.dataset, at)
        if spec.data.packing:
            problems += packing_problems(spec.batch, source.fields, at)
    return problems


def train_problems(spec) -> list[Problem]:
    """`train.trainable` and `train.init_from` name pathways of the graph, and `train.adapter` a registered adapter with a valid config."""
    train = spec.train
    if train is None:
        return []
    known = sorted(map(str, spec.pathways))
    problems = []
    named = [(f"train.trainable.{i}", name) for i, name in enumerate(train.trainable or ())]
    named += [(f"train.init_from.{i}.pathways.{j}", name) for i, init in enumerate(train.init_from or ()) for j, name in enumerate(init.pathways or ())]
    for where, name in named:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(Problem(where, f"{name!r} is not a pathway of this config{hint} (pathways: {', '.join(known)})"))
    if train.adapter is not None:
        from pathways.plugins import adapter_registry

        problems += adapter_registry().configure(train.adapter.type, train.adapter.config, type_at=("train", "adapter", "type"), config_at=("train", "adapter", "config"))[2]
    return problems


def mesh_problems(spec, batch: dict[str, jax.ShapeDtypeStruct], params: Any = None) -> list[Problem]:
    """The mesh fits the devices, every batch field splits over the data axes, and so does every parameter.

    `params` is an abstract pytree of the model's parameters (`ShapeDtypeStruct`
    leaves, paths `pathways.<pathway>...`); the parameter check is skipped without it.
    """
    from pathways.parallel import BATCH_AXES, axis_sizes, make_mesh, param_specs

    if spec.mesh is None:
        return []
    try:
        sizes = axis_sizes(spec.mesh.axes, jax.device_count())
    except ConfigError as exc:
        return exc.problems
    problems = []
    split = math.prod(sizes[a] for a in BATCH_AXES)
    axes = " x ".join(f"{a}={sizes[a]}" for a in BATCH_AXES)
    for name, value in batch.items():
        where = f"batch.{name}.shape"
        if not value.shape:
            problems.append(Problem(where, f"batch.{name} is a scalar: a mesh splits every batch field over its first dimension ({axes})"))
        elif value.shape[0] % split:
            first = spec.batch[name].shape[0]
            size = f"{first} = {value.shape[0]}" if isinstance(first, str) else str(value.shape[0])
            problems.append(
                Problem(f"{where}.0", f"batch.{name} has batch size {size}, which is not divisible by the {split} devices of the data axes ({axes})")
            )
    if params is None:
        return problems
    try:
        param_specs(params, make_mesh(spec.mesh.axes), [(r.match, r.spec) for r in spec.mesh.rules])
    except ConfigError as exc:
        problems += exc.problems
    return problems
