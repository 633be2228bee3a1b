"""Inputs the fuzzer found (or that are classic YAML traps): each is one located error, never a traceback."""

from __future__ import annotations

import pytest

from pathways import ConfigError
from pathways.cli import main
from pathways.config import load_config

MINIMAL = "name: x\nbatch: {}\npathways: {}\n"
TRAIN = "train:\n  losses: [{type: classification, logits: a.b, targets: batch.y}]\n"


def problems(path) -> list[str]:
    with pytest.raises(ConfigError) as err:
        load_config(path)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", ".NaN", "1e400"])
@pytest.mark.parametrize("field", ["optimizer: {lr: %s}", "optimizer: {b1: %s}", "grad_clip: %s", "lora: {pathway: x, alpha: %s}"])
def test_non_finite_floats_are_refused(write_yaml, field, value):
    path = write_yaml(MINIMAL + TRAIN + "  " + field % value + "\n")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:6:") and "Input should be a finite number" in msg


def test_invalid_rule_regex_is_placed_at_the_rule(write_yaml):
    path = write_yaml(MINIMAL + "mesh:\n  rules:\n    - {match: 'q_proj(', spec: [tensor]}\n    - {match: 'a{99999999999}', spec: []}\n")
    msgs = problems(path)
    assert msgs[0] == f"{path}:6:8: mesh.rules.0.match: 'q_proj(' is not a valid regular expression: missing ), unterminated subpattern at position 6"
    assert msgs[1].startswith(f"{path}:7:8: mesh.rules.1.match: 'a{{99999999999}}' is not a valid regular expression")


@pytest.mark.parametrize(
    "text, where, message",
    [
        ("a: &x [1, *x]\n", ":1:4: a.1", "an alias refers to the value that contains it"),
        ("a: &x {b: *x}\n", ":1:4: a.b", "an alias refers to the value that contains it"),
        ("description: " + "[" * 100 + "]" * 100 + "\n", ":1:78: description.0.0.0", "nested more than 64 levels deep"),
        ("description: " + "[" * 3000 + "]" * 3000 + "\n", ": ", "nested more than 64 levels deep"),
        ("name: !!timestamp 2020-13-45\n", ":1:7: ", "cannot read timestamp value: month must be in 1..12"),
        ("seed: " + "9" * 5000 + "\n", ":1:7: ", "cannot read int value"),
        ("name: x\x01\n", ":1:8: ", "unacceptable character #x0001"),
    ],
)
def test_yaml_traps_are_located_errors(write_yaml, text, where, message):
    path = write_yaml(text)
    (msg,) = problems(path)
    assert msg.startswith(f"{path}{where}") and message in msg and "\n" not in msg


def test_billion_laughs_is_refused_quickly(write_yaml):
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x]"] + [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    path = write_yaml(MINIMAL + "\n".join(lines) + "\n")
    (msg,) = problems(path)
    assert "aliases expand to more than 100000 values" in msg and msg.startswith(f"{path}:")


def test_an_integer_key_is_located(write_yaml):
    path = write_yaml(MINIMAL + "dims: {B: 2, 3: 4}\n")
    (msg,) = problems(path)
    assert msg.startswith(f"{path}:4:14: dims.3: Input should be a valid string")


def test_a_huge_value_is_shown_cut_short(write_yaml):
    path = write_yaml(MINIMAL + "train:\n  seed: x" + "y" * 500 + "\n  losses: []\n")
    msgs = problems(path)
    assert any("(got 'xyyy" in m and m.endswith("...)") and len(m) < 200 + len(str(path)) for m in msgs)


def test_cli_prints_one_line_per_problem(write_yaml, capsys):
    path = write_yaml("a: &x [1, *x]\n")
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {path}:1:4: a.1: YAML error: an alias refers to the value that contains it (a recursive document)\n"
