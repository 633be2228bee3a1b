"""The plugin contract: every hook is tested and documented; entry points load safely."""

from __future__ import annotations

import importlib
import inspect
import sys
import textwrap
from pathlib import Path

import pytest

import pathways
from pathways import PluginError
from pathways.components import Component
from pathways.components._contract import check_contract
from pathways.plugins import DEFAULT_PLUGINS, PluginLoadWarning, Registry, _hookspecs, new_plugin_manager

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
HOOKS = sorted(name for name, f in inspect.getmembers(_hookspecs, inspect.isfunction) if name.startswith("pathways_"))


def component_registry_of(pm) -> Registry:
    return Registry(pm, "pathways_register_components", Component, "component", check_contract)


@pytest.fixture
def fixture_plugins(monkeypatch):
    monkeypatch.syspath_prepend(str(FIXTURES))
    return lambda name: importlib.import_module(name)


def fake_distribution(root: Path, name: str, entry_points: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info with entry points) under `root`."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[pathways]\n{eps}\n")


def test_every_hook_has_a_test():
    names = {name for name, _ in inspect.getmembers(sys.modules[__name__], inspect.isfunction)}
    missing = [h for h in HOOKS if f"test_hook_{h}" not in names]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"


def test_every_hook_is_documented():
    guide = (ROOT / "docs" / "writing-a-plugin.md").read_text()
    missing = [h for h in HOOKS if h not in guide]
    assert not missing, f"hooks missing from docs/writing-a-plugin.md: {missing}"


def test_every_hookspec_says_when_it_is_called():
    for h in HOOKS:
        doc = inspect.getdoc(getattr(_hookspecs, h)) or ""
        assert "Called" in doc and "Return" in doc, h


def test_hook_pathways_register_components(fixture_plugins):
    pm = new_plugin_manager(entry_points=False)
    pm.register(fixture_plugins("scaled_identity"), name="scaled")
    registry = component_registry_of(pm)
    entry = registry.get("scaled_identity")
    assert entry.plugin == "scaled" and entry.cls.kind == "connector"
    # Built-ins come through the very same hook, one plugin per module.
    assert {registry.get(n).plugin for n in ("token_embedding", "vit_encoder", "gemma_decoder")} <= set(DEFAULT_PLUGINS)


def test_hook_pathways_register_datasets(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "words_plugin").mkdir(parents=True)
    (site / "words_plugin" / "__init__.py").write_text(textwrap.dedent("""\
        import pathways
        from pathways.data import Dataset

        class Words(Dataset):
            type_name = "words"
            fields = {"text": "a word"}
            def __len__(self):
                return 3
            def __getitem__(self, i):
                return {"text": ["red", "green", "blue"][i]}

        @pathways.hookimpl
        def pathways_register_datasets():
            return [Words]
        """))
    fake_distribution(site, "words_plugin", {"words": "words_plugin"})
    monkeypatch.syspath_prepend(str(site))
    from pathways.data import Dataset

    registry = Registry(new_plugin_manager(), "pathways_register_datasets", Dataset, "dataset")
    entry = registry.get("words")
    assert entry.plugin == "words"
    words = entry.cls(entry.cls.Config())
    assert [words[i]["text"] for i in range(len(words))] == ["red", "green", "blue"]
    assert registry.get("digits").plugin == "pathways.data.digits"


def test_hook_pathways_register_adapters():
    import jax

    from pathways.nn import Linear
    from pathways.plugins import adapter_registry

    entry = adapter_registry().get("lora")
    assert entry.plugin == "pathways.adapters.lora"
    lin = Linear(4, 3, key=jax.random.key(0))
    adapted = entry.cls.apply(lin, entry.cls.Config(rank=2, alpha=4.0), key=jax.random.key(1))
    x = jax.numpy.ones((5, 4))
    # B starts at zero: the adapted layer computes what the base did; merging gives a plain Linear back.
    assert (adapted(x) == lin(x)).all()
    assert isinstance(entry.cls.merge(adapted), Linear)
    assert sum(jax.tree.leaves(entry.cls.trainable(adapted))) == 2


def test_builtins_are_plugins_like_any_other():
    pm = new_plugin_manager(entry_points=False)
    assert [name for name, _ in pm.list_name_plugin()] == list(DEFAULT_PLUGINS)


def test_duplicate_component_name_names_both_plugins(fixture_plugins):
    pm = new_plugin_manager(entry_points=False)
    pm.register(fixture_plugins("shadow_text"), name="shadow")
    with pytest.raises(PluginError) as err:
        component_registry_of(pm)
    (msg,) = [str(p) for p in err.value.problems]
    assert msg == "plugin shadow: component 'token_embedding' is registered by both 'pathways.components.text' and 'shadow'"


def test_contract_violation_skips_that_component_with_a_warning(fixture_plugins):
    pm = new_plugin_manager(entry_points=False)
    pm.register(fixture_plugins("no_kind"), name="nokind")
    with pytest.warns(PluginLoadWarning, match="plugin 'nokind': component 'no_kind' skipped: kind 'gadget' is not one of"):
        registry = component_registry_of(pm)
    assert "no_kind" not in registry and "token_embedding" in registry


def test_a_component_of_the_old_kind_adapter_registers_as_a_connector_with_a_warning(fixture_plugins):
    import types

    from pathways.components import Component

    old = type("OldKind", (fixture_plugins("scaled_identity").ScaledIdentity,), {"type_name": "old_kind", "kind": "adapter"})
    module = types.ModuleType("old_kind")
    module.pathways_register_components = pathways.hookimpl(lambda: [old])
    pm = new_plugin_manager(entry_points=False)
    pm.register(module, name="oldkind")
    with pytest.warns(FutureWarning, match="OldKind: kind 'adapter' is deprecated for components, write kind = 'connector'"):
        registry = component_registry_of(pm)
    assert registry.get("old_kind").cls.kind == "connector" and issubclass(old, Component)


def test_entry_points_load_and_a_broken_one_only_warns(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "good_plugin").mkdir(parents=True)
    (site / "good_plugin" / "__init__.py").write_text((FIXTURES / "scaled_identity.py").read_text())
    fake_distribution(site, "good_plugin", {"good": "good_plugin"})
    fake_distribution(site, "broken_plugin", {"broken": "broken_plugin_not_there.plugin"})
    monkeypatch.syspath_prepend(str(site))
    with pytest.warns(PluginLoadWarning) as record:
        pm = new_plugin_manager()
    (w,) = [r for r in record if "broken" in str(r.message)]
    assert "plugin 'broken' (package broken_plugin) failed to load from 'broken_plugin_not_there.plugin'" in str(w.message)
    assert "ModuleNotFoundError" in str(w.message)
    registry = component_registry_of(pm)
    assert registry.get("scaled_identity").plugin == "good"


def test_third_party_component_used_from_yaml(tmp_path, monkeypatch):
    """What a plugin user does: install, then name the type in YAML. Nothing in this repo changes."""
    site = tmp_path / "site"
    (site / "good_plugin").mkdir(parents=True)
    (site / "good_plugin" / "__init__.py").write_text((FIXTURES / "scaled_identity.py").read_text())
    fake_distribution(site, "good_plugin", {"good": "good_plugin"})
    monkeypatch.syspath_prepend(str(site))
    pm = new_plugin_manager()
    monkeypatch.setattr("pathways.plugins._registry.get_plugin_manager", lambda: pm)
    pathways.plugins.component_registry.cache_clear()
    try:
        config = tmp_path / "c.yaml"
        config.write_text(textwrap.dedent("""\
            dims: {B: 2, T: 4}
            batch: {tokens: {shape: [B, T], dtype: int32}}
            pathways:
              text: {type: token_embedding, config: {vocab_size: 16, width: 8}, inputs: {tokens: batch.tokens}}
              scale: {type: scaled_identity, config: {width: 8, init: 2.0}, inputs: {x: text.embeddings}}
            """))
        import jax
        import numpy as np

        model = pathways.load_model(config, jax.random.key(0))
        tokens = np.arange(8, dtype=np.int32).reshape(2, 4)
        out = model({"tokens": tokens})["scale.x"]
        emb = model.pathways["text"](tokens=tokens)["embeddings"]
        np.testing.assert_allclose(np.asarray(out), 2.0 * np.asarray(emb))
    finally:
        pathways.plugins.component_registry.cache_clear()


def test_hook_pathways_register_filters(fixture_plugins, monkeypatch):
    from pathways.curate import Filter, Pipeline, build_chain
    from pathways.curate._filter import check_filter

    pm = new_plugin_manager(entry_points=False)
    pm.register(fixture_plugins("min_length_filter"), name="minlen")
    with pytest.warns(PluginLoadWarning, match="plugin 'minlen': filter 'no_keep' skipped: NoKeep does not implement keep"):
        registry = Registry(pm, "pathways_register_filters", Filter, "filter", check_filter)
    assert registry.get("min_length").plugin == "minlen" and "no_keep" not in registry
    # Built-ins come through the very same hook.
    assert {registry.get(n).plugin for n in ("gopher_quality", "language_id", "minhash_dedup")} <= set(DEFAULT_PLUGINS)
    # A chain names the third-party filter by type, like a built-in.
    monkeypatch.setattr("pathways.plugins._registry.get_plugin_manager", lambda: pm)
    pathways.plugins.filter_registry.cache_clear()
    try:
        with pytest.warns(PluginLoadWarning):
            chain = build_chain([{"type": "min_length", "config": {"min_chars": 5}}, {"type": "exact_dedup"}])
        pipeline = Pipeline(chain)
        lines = [(1, '{"text": "hi"}'), (2, '{"text": "hello there"}'), (3, '{"text": "Hello  there!"}')]
        assert [n for n, _ in pipeline.run(lines)] == [2]
        assert [dict(s.reasons) for s in pipeline.stats] == [{"too_short": 1}, {"exact_duplicate": 1}]
    finally:
        pathways.plugins.filter_registry.cache_clear()


def test_hook_pathways_register_tasks(fixture_plugins):
    from pathways.evaluate import Task
    from pathways.evaluate._task import check_task

    class Essay(Task):
        type_name, kind = "essay", "essay"

        def examples(self, limit):
            return iter([])

    class EssayPlugin:
        @pathways.hookimpl
        def pathways_register_tasks(self):
            return [Essay]

    pm = new_plugin_manager(entry_points=False)
    pm.register(fixture_plugins("letters_task"), name="letters")
    pm.register(EssayPlugin(), name="essays")
    with pytest.warns(PluginLoadWarning, match="plugin 'essays': task 'essay' skipped: kind 'essay' is not one of multiple_choice, generation"):
        registry = Registry(pm, "pathways_register_tasks", Task, "task", check_task)
    entry = registry.get("next_letter")
    assert entry.plugin == "letters" and "essay" not in registry
    first = next(entry.cls().examples(1))
    assert (first["prompt"], first["choices"][first["answer"]]) == ("a b c", "d")
    # Built-ins come through the very same hook, one plugin per module.
    assert {registry.get(n).plugin for n in ("vqa", "lm_perplexity", "commonsense_mc")} <= set(DEFAULT_PLUGINS)


def test_registry_configure_looks_up_and_validates_in_one_place():
    """The one helper graph resolution, curation chains and datasets use: name -> entry, config -> cfg, or problems."""
    registry = pathways.plugins.component_registry()
    entry, cfg, problems = registry.configure("lm_head", {"vocab_size": 16, "width": 8}, type_at=("pathways", "h", "type"), config_at=("pathways", "h", "config"))
    assert entry.name == "lm_head" and cfg.vocab_size == 16 and problems == []
    _, _, problems = registry.configure("lm_haed", {}, type_at=("pathways", "h", "type"), config_at=("pathways", "h", "config"))
    assert [p.where for p in problems] == ["pathways.h.type"] and "did you mean 'lm_head'?" in problems[0].message
    entry, cfg, problems = registry.configure("lm_head", {"vocab_size": -1, "width": 8}, type_at=("pathways", "h", "type"), config_at=("pathways", "h", "config"))
    assert entry is None and cfg is None and [p.where for p in problems] == ["pathways.h.config.vocab_size"]
