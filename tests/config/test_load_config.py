"""Config files: safe YAML, located errors, `extends` and `remove`."""

from __future__ import annotations

import pytest

from pathways import ConfigError
from pathways.config import deep_merge, load_config

BASE = """\
name: base
dims: {B: 2, T: 8}
batch:
  tokens: {shape: [B, T], dtype: int32}
pathways:
  text:
    type: token_embedding
    config: {vocab_size: 64, width: 16}
    inputs: {tokens: batch.tokens}
  decoder:
    type: gemma_decoder
    config: {width: 16, depth: 1, heads: 2, head_dim: 8, mlp_dim: 32}
    inputs: {x: text.embeddings}
  head:
    type: lm_head
    config: {vocab_size: 64, width: 16}
    inputs: {x: decoder.x}
"""


def problems(exc_info) -> list[str]:
    return [str(p) for p in exc_info.value.problems]


def test_yaml_syntax_error_names_file_line_and_column(write_yaml):
    path = write_yaml("name: x\npathways:\n  text: {type: token_embedding\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (msg,) = problems(err)
    assert msg.startswith(f"{path}:4:1: YAML error") or msg.startswith(f"{path}:3:")
    assert "YAML error" in msg


def test_python_tags_are_rejected_with_location(write_yaml):
    path = write_yaml("name: !!python/object/apply:os.system ['echo pwned']\nbatch: {}\npathways: {}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (msg,) = problems(err)
    assert msg.startswith(f"{path}:1:7:")
    assert "python" in msg and "rejected" in msg


def test_duplicate_keys_are_errors(write_yaml):
    path = write_yaml(BASE + "  head:\n    type: lm_head\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert any("duplicate key 'head'" in m and ":18:" in m for m in problems(err))


def test_unknown_field_is_named_with_suggestion_and_line(write_yaml):
    path = write_yaml(BASE.replace("  decoder:\n    type:", "  decoder:\n    typ: gemma_decoder\n    type:"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (msg,) = problems(err)
    assert msg.startswith(f"{path}:11:5: pathways.decoder.typ: unknown field 'typ'; did you mean 'type'?")


def test_wrong_value_type_names_place_and_value(write_yaml):
    path = write_yaml(BASE.replace("dims: {B: 2, T: 8}", "dims: {B: two, T: 8}"))
    with pytest.raises(ConfigError) as err:
        load_config(path)
    (msg,) = problems(err)
    assert msg.startswith(f"{path}:2:")
    assert "dims.B" in msg and "'two'" in msg


def test_missing_required_section(write_yaml):
    path = write_yaml("name: x\nbatch: {}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert problems(err) == [f"{path}: pathways: required field is missing"]


def test_extends_deep_merges_and_remove_drops(write_yaml):
    write_yaml(BASE, "base.yaml")
    child = write_yaml(
        "extends: base.yaml\nname: child\nremove: [head]\n"
        "pathways:\n  decoder:\n    config: {depth: 3}\n"
        "  cls:\n    type: classifier_head\n    config: {width: 16, num_classes: 3}\n    inputs: {x: decoder.x}\n",
        "child.yaml",
    )
    spec = load_config(child).spec
    assert spec.name == "child"
    assert list(spec.pathways) == ["text", "decoder", "cls"]
    # Deep merge: one key overridden, the rest of the mapping kept.
    assert spec.pathways["decoder"].config == {"width": 16, "depth": 3, "heads": 2, "head_dim": 8, "mlp_dim": 32}
    assert spec.batch["tokens"].shape == ["B", "T"]


def test_errors_in_a_child_point_into_the_file_that_wrote_them(write_yaml):
    base = write_yaml(BASE.replace("width: 16, depth: 1", "width: 16, depht: 1"), "base.yaml")
    child = write_yaml("extends: base.yaml\nname: child\n", "child.yaml")
    with pytest.raises(ConfigError) as err:
        import pathways

        pathways.validate(child)
    msgs = problems(err)
    assert f"{base.resolve()}:12:25: pathways.decoder.config.depht: unknown field 'depht'; did you mean 'depth'?" in msgs[1]
    assert msgs[0] == f"{base.resolve()}:12:5: pathways.decoder.config.depth: required field is missing"


def test_remove_of_unknown_pathway(write_yaml):
    write_yaml(BASE, "base.yaml")
    child = write_yaml("extends: base.yaml\nremove: [decodr]\n", "child.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(child)
    (msg,) = problems(err)
    assert "'decodr' is not a pathway of the base config" in msg and msg.startswith(f"{child}:2:")


def test_extends_cycle_and_missing_base(write_yaml):
    write_yaml("extends: b.yaml\n", "a.yaml")
    b = write_yaml("extends: a.yaml\n", "b.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(b)
    assert "extends cycle" in problems(err)[0]
    missing = write_yaml("extends: nowhere.yaml\n", "c.yaml")
    with pytest.raises(ConfigError) as err:
        load_config(missing)
    assert "base config 'nowhere.yaml' not found" in problems(err)[0]


def test_missing_file():
    with pytest.raises(ConfigError) as err:
        load_config("does/not/exist.yaml")
    assert problems(err) == ["does/not/exist.yaml: file not found"]


def test_deep_merge_replaces_lists_and_scalars():
    base = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [3]}, "e": 2}) == {"a": {"b": 1, "c": [3]}, "d": 1, "e": 2}
    assert deep_merge(base, {"a": {"b": None}, "d": None}) == {"a": {"c": [1, 2]}}  # null deletes (RFC 7396)
    assert base == {"a": {"b": 1, "c": [1, 2]}, "d": 1}  # inputs untouched
