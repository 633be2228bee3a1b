"""The CLI as a user drives it: exit codes, one line per problem, JSON for scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from pathways.cli import main
from pathways.cli.registry import render
from pathways.config import load_config, resolved_yaml

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok_prints_a_summary(capsys):
    code, out, err = run(capsys, "validate", str(ROOT / "examples/image_text.yaml"))
    assert code == 0 and err == ""
    assert "valid: image-text-early, 5 pathways" in out
    assert "outputs: lm_head.logits [4,48,4096] float32" in out
    assert len(out.splitlines()) < 25  # one screen


def test_validate_bad_config_exits_2_one_line_per_problem(capsys, write_yaml):
    path = write_yaml(
        "dims: {B: 2, T: 8}\n"
        "batch: {tokens: {shape: [B, T], dtype: int32}}\n"
        "pathways:\n"
        "  text: {type: token_embeding, config: {vocab_size: 8, width: 8}, inputs: {tokens: batch.tokens}}\n"
        "  head: {type: lm_head, config: {vocab_size: 8, width: 8, tide: true}, inputs: {x: text.embeddings}}\n"
    )
    code, out, err = run(capsys, "validate", str(path))
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {path}:4:10: pathways.text.type: unknown component type 'token_embeding'")
    assert lines[1].startswith(f"error: {path}:5:59: pathways.head.config.tide: unknown field 'tide'; did you mean 'tied'?")


def test_console_script_never_prints_a_traceback(write_yaml):
    path = write_yaml("pathways: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "pathways", "validate", str(path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {path}:2:1: YAML error")


def test_inspect_json(capsys):
    code, out, _ = run(capsys, "inspect", "--json", str(ROOT / "examples/two_heads.yaml"))
    assert code == 0
    info = json.loads(out)
    assert info["pathways"]["classifier"] == {
        "type": "classifier_head",
        "kind": "head",
        "plugin": "pathways.components.heads",
        "params": 128 * 10 + 10,
        "outputs": {"logits": {"shape": [4, 10], "dtype": "float32"}},
    }
    assert info["pathways"]["lm_head"]["params"] == 0  # tied: its matrix belongs to `text`
    assert info["pathways"]["text"]["params"] == 4096 * 128
    assert info["total_params"] == sum(p["params"] for p in info["pathways"].values())


def test_inspect_table(capsys):
    code, out, _ = run(capsys, "inspect", str(ROOT / "examples/text_lm.yaml"))
    assert code == 0
    assert "gemma_decoder" in out and "total" in out
    assert "plugin" in out.splitlines()[2] and "pathways.components.decoder" in out  # the column --help promises


def test_forward_runs_and_reports_finite_outputs(capsys):
    code, out, _ = run(capsys, "forward", "--json", str(ROOT / "examples/text_lm.yaml"))
    assert code == 0
    info = json.loads(out)
    assert info["finite"] and info["outputs"]["lm_head.logits"]["shape"] == [4, 64, 4096]


def test_plugins_json_lists_every_component(capsys):
    code, out, _ = run(capsys, "plugins", "--json")
    assert code == 0
    comps = {c["name"]: c for c in json.loads(out)["components"]}
    assert comps["vit_encoder"] == {"name": "vit_encoder", "kind": "encoder", "plugin": "pathways.components.image", "roles": [], "media": {"images": "image"}, "problem": None}
    assert comps["gemma_decoder"]["roles"] == ["cached_decoder"] and comps["lm_head"]["roles"] == ["lm_head"]
    assert {"token_embedding", "audio_encoder", "early_fusion", "late_fusion", "gemma_decoder", "lm_head", "classifier_head"} <= set(comps)


def test_registry_yaml_is_up_to_date():
    checked_in = (ROOT / "registry.yaml").read_text()
    assert checked_in == render(), "registry.yaml drifted from what plugins register: run `pathways registry --write`"


def test_registry_lists_plugins_under_plugins_dir():
    catalog = yaml.safe_load((ROOT / "registry.yaml").read_text())
    providers = {c["name"]: c["plugin"] for c in catalog["components"]}
    assert providers.get("perceiver_resampler") == "perceiver"


def test_registry_check_detects_drift(capsys, tmp_path):
    stale = tmp_path / "registry.yaml"
    stale.write_text("components: []\n")
    code, _, err = run(capsys, "registry", "--check", "--path", str(stale))
    assert code == 1 and "out of date" in err
    code, _, _ = run(capsys, "registry", "--write", "--path", str(stale))
    code, _, _ = run(capsys, "registry", "--check", "--path", str(stale))
    assert code == 0


@pytest.fixture(scope="module")
def schema():
    from pathways.config import json_schema
    from pathways.plugins import component_registry

    return json_schema(component_registry())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_matches_the_json_schema(schema, path):
    jsonschema.validate(resolved_yaml(load_config(path)), schema)


def test_schema_rejects_a_bad_component_config(schema, capsys):
    code, out, _ = run(capsys, "schema")
    assert code == 0 and json.loads(out) == schema
    bad = {
        "batch": {},
        "pathways": {"text": {"type": "token_embedding", "config": {"vocab_size": 8, "widht": 8}}},
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_help_explains_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("validate", "inspect", "forward", "plugins", "registry", "schema"):
        assert cmd in out
