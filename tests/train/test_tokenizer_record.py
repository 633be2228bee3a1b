"""A checkpoint records its tokenizer, carries a copy, and refuses a different one."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from trainkit import TINY_DIGITS, cli, write_config

ROOT = Path(__file__).resolve().parents[2]
ENGLISH = ROOT / "examples" / "tokenizers" / "english.model"


def sentencepiece_config(tmp_path: Path) -> Path:
    shutil.copy(ENGLISH, tmp_path / "english.model")
    base = TINY_DIGITS.replace("tokenizer: bytes", "tokenizer: english.model").replace("vocab_size: 259", "vocab_size: 512")
    return write_config(tmp_path, "sp.yaml", base=base)


def test_checkpoint_records_and_copies_the_sentencepiece_model(capsys, tmp_path):
    config = sentencepiece_config(tmp_path)
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "run", "--no-progress")
    assert code == 0, err
    step = sorted((tmp_path / "run" / "checkpoints").iterdir())[-1]
    state = json.loads((step / "state.json").read_text())
    assert state["tokenizer"]["type"] == "sentencepiece" and state["tokenizer"]["vocab_size"] == 512
    assert (step / "tokenizer.model").read_bytes() == ENGLISH.read_bytes()
    assert "tokenizer: tokenizer.model" in (step / "config.yaml").read_text()  # self-contained


def test_finetune_with_another_tokenizer_is_an_error(capsys, tmp_path, base_run):
    config = sentencepiece_config(tmp_path)  # base_run was trained with the byte tokenizer
    code, _, err = cli(capsys, "finetune", config, "--pathway", "image", "--from", base_run, "--out", tmp_path / "ft", "--no-progress")
    assert code == 2
    assert "tokenizer: the checkpoint was trained with tokenizer bytes (vocab 259), the config names english.model" in err
