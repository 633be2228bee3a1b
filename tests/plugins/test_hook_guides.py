"""docs/plugins/<hook>.md, one guide per hookspec, each a worked example that really works: its
Python blocks are run as a plugin module, registered with a fresh plugin manager, and what it
registers is used (a component on port-shaped inputs, a dataset's splits, a task's examples, a
filter on documents, an adapter applied, trained and merged)."""

from __future__ import annotations

import inspect
import re
import sys
import types
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pathways.adapters import Adapter, check_adapter
from pathways.components import Component, check_component, check_contract
from pathways.curate import Filter, check_filter
from pathways.data import Dataset
from pathways.evaluate import Task, check_task
from pathways.nn import Linear
from pathways.plugins import Registry, _hookspecs, new_plugin_manager

GUIDES = Path(__file__).resolve().parents[2] / "docs" / "plugins"
HOOKS = sorted(name for name, _ in inspect.getmembers(_hookspecs, inspect.isfunction) if name.startswith("pathways_register_"))
REGISTRY = {
    "components": ("component", Component, check_contract),
    "datasets": ("dataset", Dataset, lambda cls: None),
    "tasks": ("task", Task, check_task),
    "filters": ("filter", Filter, check_filter),
    "adapters": ("adapter", Adapter, check_adapter),
}


def guide_plugin(what: str) -> types.ModuleType:
    """The guide's Python blocks, run as one module."""
    text = (GUIDES / f"{what}.md").read_text()
    code = "\n\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    module = types.ModuleType(f"guide_{what}")
    sys.modules[module.__name__] = module  # as an imported module is (dataclasses and pydantic look it up)
    exec(compile(code, str(GUIDES / f"{what}.md"), "exec"), module.__dict__)  # noqa: S102 - our own docs
    return module


def registered(what: str) -> list[type]:
    pm = new_plugin_manager(entry_points=False)
    pm.register(guide_plugin(what), name=f"guide_{what}")
    label, base, check = REGISTRY[what]
    registry = Registry(pm, f"pathways_register_{what}", base, label, check)
    return [e.cls for e in registry if e.plugin == f"guide_{what}"]


def test_every_hook_has_a_guide_that_is_indexed():
    index = (GUIDES / "README.md").read_text()
    for hook in HOOKS:
        what = hook.removeprefix("pathways_register_")
        assert (GUIDES / f"{what}.md").is_file(), f"no guide for {hook}: docs/plugins/{what}.md"
        assert (GUIDES / f"{what}.md").read_text().startswith(f"# `{hook}`"), what
        assert f"`{hook}`" in index and f"({what}.md)" in index, what
        assert what in REGISTRY, f"test_hook_guides does not exercise {hook}"


def test_components_guide():
    (cls,) = registered("components")
    out = check_component(cls)
    assert out["tokens"].shape == (2, 16, 32) and cls.media["signal"].modality == "signal"
    module = cls(cls.Config(**cls.example), key=jax.random.key(0))
    assert cls.cost(module=module, cfg=cls.Config(**cls.example), shapes={}).tokens == 16


def test_datasets_guide():
    (cls,) = registered("datasets")
    train, test = cls(cls.Config()), cls(cls.Config(split="test"))
    texts = lambda d: {d[i]["text"] for i in range(len(d))}  # noqa: E731
    assert len(train) == 30 and len(test) == 12 and not texts(train) & texts(test)
    assert set(train[0]) == set(cls.fields)


def test_tasks_guide():
    (cls,) = registered("tasks")
    examples = list(cls().examples(None))
    assert len(examples) == 5 and all(ex["choices"][ex["answer"]] == ex["target"] for ex in examples)
    assert check_task(cls) is None and cls.kinds() == ("multiple_choice", "generation")


def test_filters_guide():
    (cls,) = registered("filters")
    f = cls(cls.Config())
    assert f.keep({"text": "THIS IS A VERY LOUD DOCUMENT INDEED"}) == "shouting: 100% capitals"
    assert f.keep({"text": "This is a calm document, written normally."}) is None
    assert f.keep({"text": "OK GO"}) is None  # too short to judge


def test_adapters_guide():
    (cls,) = registered("adapters")
    module = {"proj": Linear(6, 4, use_bias=True, key=jax.random.key(0))}
    module = eqx.tree_at(lambda m: m["proj"].bias, module, jnp.array([0.5, -1.0, 2.0, 0.25]))  # merge must scale it too
    x = jax.random.normal(jax.random.key(1), (3, 6))
    adapted = cls.apply(module, cls.Config(), key=jax.random.key(2))
    assert cls.apply(module, cls.Config(min_features=5), key=jax.random.key(2)) == module  # 4 outputs: nothing to adapt
    np.testing.assert_allclose(adapted["proj"](x), module["proj"](x))  # identical at initialisation
    spec = cls.trainable(adapted)
    assert sum(jax.tree.leaves(spec)) == 1 and eqx.filter(adapted, spec)["proj"].gain.shape == (4,)  # only the gain trains
    trained = eqx.tree_at(lambda m: m["proj"].gain, adapted, jnp.arange(1.0, 5.0))
    merged = cls.merge(trained)
    assert isinstance(merged["proj"], Linear)
    np.testing.assert_allclose(merged["proj"](x), trained["proj"](x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("hook", HOOKS)
def test_hookspec_docstring_points_at_its_guide(hook):
    assert f"docs/plugins/{hook.removeprefix('pathways_register_')}.md" in inspect.getdoc(getattr(_hookspecs, hook))
