"""`pathways plan` as a user drives it: JSON for scripts, tables for people, one line per error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pathways.cli import main

ROOT = Path(__file__).resolve().parents[2]
GEMMA = str(ROOT / "examples/presets/gemma-2b.yaml")


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_report(capsys):
    code, out, err = run(
        capsys, "plan", GEMMA, "--chips", "256", "--chip", "h100", "--mesh", "fsdp=64,tensor=4",
        "--tokens", "6T", "--inference-tokens", "1e13", "--mfu", "0.5", "--json",
    )  # fmt: skip
    assert code == 0 and err == ""
    r = json.loads(out)
    assert set(r) == {
        "name", "config", "sequence", "params", "flops_per_token", "pathways", "training", "chinchilla",
        "inference_optimal", "hardware", "memory_per_chip", "time", "assumptions",
    }  # fmt: skip
    assert r["params"] == {"total": 2_506_172_416, "embedding": 524_288_000, "non_embedding": 1_981_884_416}
    assert r["sequence"] == {"decoder": "decoder", "length": 8192, "batch": 64}
    assert r["training"]["tokens"] == 6e12 and r["training"]["tokens_from"] == "--tokens"
    assert r["training"]["flops"] == pytest.approx(r["flops_per_token"]["training"] * 6e12)
    assert r["hardware"] == {
        "chip": "h100", "peak_flops": 989e12, "hbm_bytes": 80 * 2**30, "chips": 256,
        "mesh": {"data": 1, "fsdp": 64, "tensor": 4}, "mfu": 0.5,
    }  # fmt: skip
    assert r["time"]["seconds"] == pytest.approx(r["training"]["flops"] / (256 * 989e12 * 0.5))
    assert set(r["pathways"]) == {"text", "decoder", "lm_head"}
    assert r["pathways"]["text"]["embedding_params"] == 524_288_000
    inf = r["inference_optimal"]
    assert inf["optimal"]["params"] < inf["chinchilla"]["params"] and inf["total_flops_saved"] > 0
    mem = r["memory_per_chip"]
    assert mem["micro_batch"] == 1 and mem["total_remat"] < mem["total"]


def test_compute_budget_sets_the_tokens(capsys):
    code, out, _ = run(capsys, "plan", GEMMA, "--compute", "1e23", "--json")
    r = json.loads(out)
    assert code == 0
    assert r["training"]["flops"] == pytest.approx(1e23)
    assert r["chinchilla"]["approach_3"]["compute"] == 1e23
    assert r["inference_optimal"] is None


def test_default_run_is_chinchilla_optimal(capsys):
    code, out, _ = run(capsys, "plan", GEMMA, "--json")
    r = json.loads(out)
    assert r["training"]["tokens"] == r["chinchilla"]["approach_1"]["tokens"]
    assert r["hardware"]["chips"] == 1 and r["hardware"]["chip"] == "tpu-v5p" and r["hardware"]["mfu"] == 0.4


def test_table_output(capsys):
    code, out, err = run(capsys, "plan", GEMMA, "--chips", "256", "--mesh", "fsdp=64,tensor=4", "--inference-tokens", "10T")
    assert code == 0 and err == ""
    for text in ("2.51B parameters", "approach 1 (Table 3)", "approach 3 (parametric)", "Sardana & Frankle", " on 256 x tpu-v5p (459 TFLOP/s bf16 peak) at 40% MFU", "full remat"):
        assert text in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--chip", "tpu-v6"], "error: --chip: unknown chip 'tpu-v6' (known: tpu-v4, tpu-v5e, tpu-v5p, a100, h100)"),
        (["--chips", "256", "--mesh", "fsdp=64"], "error: --mesh: data=1,fsdp=64,tensor=1 has 1 x 64 x 1 = 64 devices, but --chips is 256"),
        (["--mfu", "1.5"], "error: --mfu: must be in (0, 1], got 1.5"),
        (["--seq-len", "0"], "error: --seq-len: must be at least 1, got 0"),
        (["--batch", "3", "--chips", "2"], "error: --batch: a global batch of 3 sequences does not split evenly over data x fsdp = 2"),
    ],
)
def test_errors_are_one_line(capsys, argv, message):
    code, out, err = run(capsys, "plan", GEMMA, *argv)
    assert code == 2 and out == "" and err.splitlines() == [message]


def test_seq_len_shorter_than_the_modality_prefix(capsys):
    code, _, err = run(capsys, "plan", str(ROOT / "examples/presets/gemini-nano.yaml"), "--seq-len", "500")
    assert code == 2 and err.strip() == "error: --seq-len: 500 leaves no room for text after the 512-token modality prefix"


def test_compute_and_tokens_exclude_each_other(capsys):
    assert main(["plan", GEMMA, "--compute", "1e23", "--tokens", "2T"]) == 2
    assert capsys.readouterr().err == "error: --tokens: not allowed with argument --compute\n"
