"""Model presets: sizes (Gemma's exactly as published), composition, and abstract speed."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path

import pytest

import pathways
from pathways.cli import main
from pathways.cli._output import human
from pathways.graph import summarize

PRESETS = Path(__file__).resolve().parents[2] / "examples" / "presets"
GEMINI = {"gemini-nano": 500e6, "gemini-pro": 17e9, "gemini-ultra": 170e9}
GEMMA = {"gemma-2b": 2_506_172_416, "gemma-7b": 8_537_680_896}  # Gemma Team (2024), table 1 / released checkpoints


def test_presets_are_the_ones_documented():
    assert {p.stem for p in PRESETS.glob("*.yaml")} == set(GEMINI) | set(GEMMA)


@pytest.mark.parametrize("name, size", GEMINI.items())
def test_gemini_presets_are_multimodal_and_within_5_percent_of_their_size(name, size):
    info = summarize(pathways.validate(PRESETS / f"{name}.yaml"))
    types = {p["type"] for p in info["pathways"].values()}
    assert {"token_embedding", "vit_encoder", "audio_encoder", "gemma_decoder", "lm_head"} <= types
    assert types & {"early_fusion", "late_fusion"}
    assert info["total_params"] == pytest.approx(size, rel=0.05)


@pytest.mark.parametrize("name, total", GEMMA.items())
def test_gemma_presets_have_the_published_parameter_counts(name, total):
    info = summarize(pathways.validate(PRESETS / f"{name}.yaml"))
    assert info["total_params"] == total
    assert info["pathways"]["lm_head"]["params"] == 0  # tied: the table is counted once, in `text`


def test_ultra_summarizes_in_seconds():
    start = time.perf_counter()
    info = summarize(pathways.validate(PRESETS / "gemini-ultra.yaml"))
    assert time.perf_counter() - start < 20
    assert info["total_params"] > 1e11


def header_command(path: Path) -> list[str]:
    """The `pathways plan ...` command on a preset's first line, as argv (with an absolute config path)."""
    first = path.read_text().splitlines()[0]
    assert first.startswith("# pathways plan examples/presets/" + path.name + " ")
    argv = shlex.split(first.removeprefix("# pathways "))
    return [argv[0], str(path), *argv[2:]]


@pytest.mark.parametrize("path", sorted(PRESETS.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_preset_starts_with_the_command_that_runs_it(path, capsys):
    assert main([*header_command(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["name"] == path.stem and report["hardware"]["chips"] == 256
    assert report["memory_per_chip"]["fits_remat"]  # the stated mesh trains it, with remat


def test_readme_table_is_what_plan_prints(capsys):
    rows = {}
    for line in (PRESETS.parents[1] / "README.md").read_text().splitlines():
        if line.startswith(("| `gemini-", "| `gemma-")):
            rows[line.split("`")[1]] = [cell.strip() for cell in line.strip("|").split("|")]
    assert set(rows) == set(GEMINI) | set(GEMMA)
    for name in rows:
        argv = header_command(PRESETS / f"{name}.yaml")
        main([*argv, "--json"])
        r = json.loads(capsys.readouterr().out)
        _, params, flops, tokens, mesh, memory, _ = rows[name]
        assert params.startswith(human(r["params"]["total"]) + " (" + human(r["params"]["embedding"]) + ")")
        assert float(flops) == pytest.approx(r["flops_per_token"]["training"], rel=0.005)
        assert tokens == human(r["chinchilla"]["approach_1"]["tokens"])
        assert mesh == f"`{argv[-1]}`"  # the value of --mesh, last on the line
        assert float(memory.split()[0]) == pytest.approx(r["memory_per_chip"]["total_remat"] / 2**30, abs=0.05)
