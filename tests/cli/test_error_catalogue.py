"""The catalogue of bad input in docs/errors.md, kept true: every row is run here, in-process.

Each case sets up the files a user might have, runs one `pathways` command and
checks what the user sees: a non-zero exit, one `error:` line per problem (the
first is the row's example, exactly), and never a traceback. The table in
docs/errors.md is rendered from these results; regenerate it with

    PATHWAYS_WRITE_ERRORS_DOC=1 python -m pytest tests/cli/test_error_catalogue.py
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import yaml

from pathways.cli import main
from pathways.curate import Features, HashedNgramClassifier
from pathways.plan import _preflight
from tests.train.trainkit import TINY_TEXT_LM

DOC = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def lm(**changes) -> str:
    """TINY_TEXT_LM as YAML text, with `dotted.key: value` changes (None deletes the key)."""
    data = yaml.safe_load(TINY_TEXT_LM)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = data
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(last)
        else:
            node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def replace(old: str, new: str) -> str:
    assert old in TINY_TEXT_LM, old
    return TINY_TEXT_LM.replace(old, new, 1)


@dataclasses.dataclass
class Case:
    area: str
    kind: str  # the class of bad input, as a user would name it
    argv: list[str]
    files: dict[str, str | bytes] = dataclasses.field(default_factory=dict)
    setup: Callable[[Path], None] | None = None
    exit: int = 2


def _damaged_checkpoint(work: Path) -> None:
    shutil.copytree(work / "run", work / "damaged")
    for ckpt in (work / "damaged" / "checkpoints").iterdir():
        model = ckpt / "model.safetensors"
        model.write_bytes(model.read_bytes()[: model.stat().st_size // 2])


def _non_finite_classifier(work: Path) -> None:
    features = Features(buckets=2**6)
    weights = np.full((features.buckets, 2), np.inf, np.float32)
    HashedNgramClassifier(["ham", "spam"], features, weights, np.zeros(2, np.float32)).save(work / "clf")


def _my_folder(work: Path) -> None:
    (work / "thesis").mkdir()
    (work / "thesis" / "chapter1.tex").write_text("\\chapter{Introduction}\n")


CORPUS = "".join(json.dumps({"text": f"Document number {i} is a short one."}) + "\n" for i in range(3))
BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh")
)

CASES = [
    # The YAML file itself
    Case("YAML", "syntax error", ["validate", "c.yaml"], {"c.yaml": "name: [unclosed\n"}),
    Case("YAML", "a Python tag (code execution)", ["validate", "c.yaml"], {"c.yaml": "name: !!python/object/apply:os.system ['ls']\n"}),
    Case("YAML", "a key given twice", ["validate", "c.yaml"], {"c.yaml": TINY_TEXT_LM + "name: again\n"}),
    Case("YAML", "not UTF-8 text", ["validate", "c.yaml"], {"c.yaml": b"name: caf\xe9\n"}),
    Case("YAML", "a control character", ["validate", "c.yaml"], {"c.yaml": "name: a\x07b\n"}),
    Case("YAML", "an empty file", ["validate", "c.yaml"], {"c.yaml": ""}),
    Case("YAML", "a file that does not exist", ["validate", "missing.yaml"]),
    Case("YAML", "nested too deep", ["validate", "c.yaml"], {"c.yaml": "a: " + "[" * 100 + "]" * 100 + "\n"}),
    Case("YAML", "an alias bomb (billion laughs)", ["validate", "c.yaml"], {"c.yaml": BOMB}),
    Case("YAML", "`extends` naming a missing file", ["validate", "c.yaml"], {"c.yaml": "extends: base.yaml\nname: x\n"}),
    # Fields of the config
    Case("config", "a misspelt field", ["validate", "c.yaml"], {"c.yaml": replace("  steps: 3", "  stpes: 3")}),
    Case("config", "a value of the wrong type", ["validate", "c.yaml"], {"c.yaml": replace("  steps: 3", "  steps: three")}),
    Case("config", "an infinite float", ["validate", "c.yaml"], {"c.yaml": replace("{lr: 1.0e-2}", "{lr: .inf}")}),
    Case("config", "a number out of range", ["validate", "c.yaml"], {"c.yaml": replace("  steps: 3", "  steps: -5")}),
    Case("config", "an optimizer beta outside [0, 1)", ["validate", "c.yaml"], {"c.yaml": replace("{lr: 1.0e-2}", "{lr: 1.0e-2, b2: 1.5}")}),
    Case("config", "an unknown pathway type", ["validate", "c.yaml"], {"c.yaml": replace("type: gemma_decoder", "type: gemma_decodr")}),
    Case("config", "a component setting it refuses", ["validate", "c.yaml"], {"c.yaml": replace("heads: 2, kv_heads: 1", "heads: 2, kv_heads: 3")}),
    Case("config", "an unknown dataset", ["validate", "c.yaml"], {"c.yaml": replace("dataset: digits", "dataset: digitz")}),
    Case("config", "a tokenizer file that does not exist", ["validate", "c.yaml"], {"c.yaml": replace("tokenizer: bytes", "tokenizer: my.model")}),
    # The graph the config wires
    Case("graph", "a port wired to nothing", ["validate", "c.yaml"], {"c.yaml": replace("{x: text.embeddings", "{x: text.embedings")}),
    Case("graph", "a cycle", ["validate", "c.yaml"], {"c.yaml": replace("{x: text.embeddings", "{x: lm_head.logits")}),
    Case("graph", "shapes that do not meet", ["validate", "c.yaml"], {"c.yaml": replace("config: {vocab_size: 259, width: 32, tied", "config: {vocab_size: 259, width: 48, tied")}),
    Case("graph", "a batch field of the wrong dtype", ["validate", "c.yaml"], {"c.yaml": replace("dtype: int32", "dtype: float32")}),
    Case("graph", "a loss reading a value no pathway makes", ["train", "c.yaml", "--out", "new"], {"c.yaml": replace("logits: lm_head.logits", "logits: lm_head.logit")}),
    Case("graph", "a mesh larger than the machine", ["validate", "c.yaml"], {"c.yaml": TINY_TEXT_LM + "mesh: {axes: {data: 16}}\n"}),
    Case("graph", "a partition rule that is not a regex", ["validate", "c.yaml"], {"c.yaml": TINY_TEXT_LM + "mesh:\n  axes: {data: 1}\n  rules: [{match: '(q_proj', spec: [null, data]}]\n"}),
    # Memory
    Case("memory", "a model that cannot fit the device", ["forward", "c.yaml"], {"c.yaml": TINY_TEXT_LM.replace("width: 32", "width: 100000000")}),
    # Run directories and resuming
    Case("runs", "`--out` is someone's own folder", ["train", "good.yaml", "--out", "thesis", "--no-progress"], setup=_my_folder),
    Case("runs", "`--overwrite` of a folder that is not a run", ["train", "good.yaml", "--out", "thesis", "--overwrite", "--no-progress"], setup=_my_folder),
    Case("runs", "`--out` already holds a run", ["train", "good.yaml", "--out", "run", "--no-progress"]),
    Case("runs", "`--resume` with nothing to resume", ["train", "good.yaml", "--out", "fresh", "--resume", "--no-progress"]),
    Case("runs", "`--resume` with a changed config", ["train", "c.yaml", "--out", "run", "--resume", "--no-progress"], {"c.yaml": lm(**{"train.seed": 7})}),
    Case("runs", "`finetune --out` replacing its own `--from`", ["finetune", "good.yaml", "--pathway", "decoder", "--from", "run", "--out", "run", "--overwrite", "--no-progress"]),
    Case("runs", "`finetune` of a pathway the model lacks", ["finetune", "good.yaml", "--pathway", "decodr", "--from", "run", "--out", "ft", "--no-progress"]),
    # Flags
    Case("flags", "`--steps` out of range", ["train", "good.yaml", "--out", "new", "--steps", "0"]),
    Case("flags", "`--lr` not finite", ["train", "good.yaml", "--out", "new", "--lr", "nan"]),
    Case("flags", "`--lora-rank` out of range", ["finetune", "good.yaml", "--pathway", "decoder", "--from", "run", "--out", "ft", "--lora-rank", "0"]),
    Case("flags", "`--temperature` not finite", ["generate", "run", "--prompt", "hello", "--temperature", "nan"]),
    Case("flags", "`--top-p` outside (0, 1]", ["generate", "run", "--prompt", "hello", "--top-p", "1.5"]),
    Case("flags", "`--workers` below 1", ["data", "curate", "in.jsonl", "--out", "o.jsonl", "--report", "r.json", "--workers", "0"]),
    Case("flags", "`--mfu` outside (0, 1]", ["plan", "good.yaml", "--mfu", "2"]),
    # Checkpoints
    Case("checkpoints", "a truncated checkpoint", ["generate", "damaged", "--prompt", "hello"], setup=_damaged_checkpoint),
    Case("checkpoints", "a PyTorch pickle instead of safetensors", ["generate", "torch-model", "--prompt", "hello"], {"torch-model/pytorch_model.bin": b"\x80\x04\x95\x00\x00"}),
    Case("checkpoints", "a checkpoint of another architecture", ["finetune", "other.yaml", "--pathway", "decoder", "--from", "run", "--out", "ft", "--no-progress"], {"other.yaml": lm(**{"pathways.decoder.config.depth": 2})}),
    # Generation and evaluation
    Case("generate", "a prompt longer than the context", ["generate", "run", "--prompt", "hello", "--max-new-tokens", "100"]),
    Case("evaluate", "an unknown task", ["eval", "run", "--tasks", "lm_perplexty"]),
    Case("plan", "an unknown accelerator", ["plan", "good.yaml", "--chip", "tpu-v99"]),
    # Data and curation
    Case("data", "`data show` of an unknown dataset", ["data", "show", "digitz"]),
    Case("curation", "`--out` is the input corpus", ["data", "curate", "in.jsonl", "--out", "in.jsonl", "--report", "r.json"]),
    Case("curation", "an empty corpus", ["data", "curate", "empty.jsonl", "--out", "o.jsonl", "--report", "r.json"], {"empty.jsonl": "\n\n"}),
    Case("curation", "a malformed line under `--strict`", ["data", "curate", "bad.jsonl", "--out", "o.jsonl", "--report", "r.json", "--strict"], {"bad.jsonl": CORPUS + "{oops\n"}),
    Case("curation", "a filter chain naming an unknown filter", ["data", "curate", "in.jsonl", "--out", "o.jsonl", "--report", "r.json", "--filters", "f.yaml"], {"f.yaml": "- type: gopher_qualty\n"}),
    Case("curation", "a classifier with non-finite weights", ["data", "curate", "in.jsonl", "--out", "o.jsonl", "--report", "r.json", "--filters", "f.yaml"], {"f.yaml": "- type: classifier\n  config: {model: clf, label: spam}\n"}, setup=_non_finite_classifier),
    Case("curation", "a classifier trained on one label", ["data", "train-classifier", "--input", "one.jsonl", "--out", "m"], {"one.jsonl": '{"text": "a", "label": "x"}\n{"text": "b", "label": "x"}\n'}),
    Case("tokenizer", "training text that does not exist", ["tokenizer", "train", "--input", "nowhere.txt", "--vocab-size", "300", "--out", "tok"]),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, tuple[int, str]]:
    """Exit code and stderr of every case, each run in its own copy of a workspace with a trained run."""
    base = tmp_path_factory.mktemp("workspace")
    (base / "good.yaml").write_text(TINY_TEXT_LM)
    (base / "in.jsonl").write_text(CORPUS)
    cwd = os.getcwd()
    os.chdir(base)
    try:
        assert main(["train", "good.yaml", "--out", "run", "--no-progress"]) == 0
    finally:
        os.chdir(cwd)
    out = {}
    budget = pytest.MonkeyPatch()  # the preflight's figure, machine-independent so the table stays true everywhere
    budget.setattr(_preflight, "device_budget", lambda: (16e9, "available host memory"))
    for i, case in enumerate(CASES):
        work = tmp_path_factory.mktemp(f"case{i}")
        shutil.copytree(base, work, dirs_exist_ok=True)
        for name, content in case.files.items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_bytes(content if isinstance(content, bytes) else content.encode())
        if case.setup:
            case.setup(work)
        err = io.StringIO()
        os.chdir(work)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(case.argv)
        finally:
            os.chdir(cwd)
        out[case.kind] = (code, err.getvalue().replace(f"{work}/", "").replace(str(work), "."))
    budget.undo()
    return out


def example(stderr: str) -> str:
    """The line a user reads first: the first `error:` line."""
    return next((line for line in stderr.splitlines() if line.startswith("error: ")), "")


@pytest.mark.parametrize("case", CASES, ids=[c.kind for c in CASES])
def test_bad_input_is_one_line_per_problem_and_no_traceback(results, case):
    code, err = results[case.kind]
    assert code == case.exit, err
    assert "Traceback" not in err and example(err), err
    lines = [line for line in err.splitlines() if line.strip()]
    assert all(line.startswith("error: ") for line in lines), err


def render(results: dict[str, tuple[int, str]]) -> str:
    head = (DOC.read_text().split("<!-- table -->")[0] if DOC.exists() else "") + "<!-- table -->\n\n"
    rows = ["| | area | bad input | command | what the user sees (first line) |", "|---|---|---|---|---|"]
    for i, case in enumerate(CASES, 1):
        line = example(results[case.kind][1]).replace("|", "\\|")
        rows.append(f"| {i} | {case.area} | {case.kind} | `pathways {' '.join(case.argv)}` | `` {line} `` |")
    return head + "\n".join(rows) + "\n"


def test_docs_table_is_what_the_commands_print(results):
    text = render(results)
    if os.environ.get("PATHWAYS_WRITE_ERRORS_DOC"):
        DOC.write_text(text)
    assert DOC.read_text() == text, "docs/errors.md is stale: rerun with PATHWAYS_WRITE_ERRORS_DOC=1"
    assert len(CASES) >= 40
