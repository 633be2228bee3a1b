"""Shared by the training tests: tiny configs, an in-process CLI runner, parameter comparisons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml
from safetensors.numpy import load_file

from pathways.cli import main

# examples/digits.yaml, shrunk so that a step compiles and runs in well under a second on 2 CPU cores.
TINY_DIGITS = """\
name: tiny-digits
tokenizer: bytes
dims: {B: 8, T: 24}
batch:
  tokens: {shape: [B, T], dtype: int32}
  image: {shape: [B, 8, 8, 1], dtype: float32}
pathways:
  text:
    type: token_embedding
    config: {vocab_size: 259, width: 32}
    inputs: {tokens: batch.tokens}
  image:
    type: vit_encoder
    config: {image_size: [8, 8], channels: 1, patch: 4, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
    inputs: {images: batch.image}
  fusion:
    type: early_fusion
    config: {width: 32}
    inputs: {prefix: [image.tokens], text: text.embeddings, text_mask: text.mask}
  decoder:
    type: gemma_decoder
    config: {width: 32, depth: 1, heads: 2, kv_heads: 1, head_dim: 16, mlp_dim: 64}
    inputs: {x: fusion.x, mask: fusion.mask, positions: fusion.positions}
  lm_head:
    type: lm_head
    config: {vocab_size: 259, width: 32, tied: true}
    inputs: {x: decoder.x, embedding: text.table}
data:
  dataset: digits
  fields: {tokens: text, image: image}
train:
  steps: 4
  optimizer: {lr: 1.0e-2, weight_decay: 0.1}
  schedule: {kind: constant}
  losses:
    - {type: next_token, logits: lm_head.logits, targets: batch.tokens}
  log_every: 1
  checkpoint_every: 2
"""

# examples/digits_text_lm.yaml, shrunk the same way: the base that a grown model extends.
TINY_TEXT_LM = """\
name: tiny-text-lm
tokenizer: bytes
dims: {B: 8, T: 24}
batch:
  tokens: {shape: [B, T], dtype: int32}
pathways:
  text:
    type: token_embedding
    config: {vocab_size: 259, width: 32}
    inputs: {tokens: batch.tokens}
  decoder:
    type: gemma_decoder
    config: {width: 32, depth: 1, heads: 2, kv_heads: 1, head_dim: 16, mlp_dim: 64}
    inputs: {x: text.embeddings, token_mask: text.mask}
  lm_head:
    type: lm_head
    config: {vocab_size: 259, width: 32, tied: true}
    inputs: {x: decoder.x, embedding: text.table}
data:
  dataset: digits
  fields: {tokens: text}
train:
  steps: 3
  optimizer: {lr: 1.0e-2}
  schedule: {kind: constant}
  losses:
    - {type: next_token, logits: lm_head.logits, targets: batch.tokens}
  log_every: 1
  checkpoint_every: 3
"""


def write_config(directory: Path, name: str = "digits.yaml", *, base: str = TINY_DIGITS, **train) -> Path:
    """Write `base` to `directory/name` with `train` keys replaced (nested dicts replace whole)."""
    data = yaml.safe_load(base)
    data["train"].update(train)
    path = directory / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run `pathways ARGV` in-process; returns (exit code, stdout, stderr)."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def same(a: dict[str, np.ndarray], b: dict[str, np.ndarray], prefix: str) -> bool:
    """Whether every parameter under `prefix` is bit-identical in `a` and `b` (and the key sets agree)."""
    ka = sorted(k for k in a if k.startswith(prefix))
    kb = sorted(k for k in b if k.startswith(prefix))
    assert ka, f"no parameters under {prefix!r}"
    return ka == kb and all(np.array_equal(a[k], b[k]) for k in ka)


def changed(a: dict[str, np.ndarray], b: dict[str, np.ndarray], prefix: str) -> bool:
    """Whether some parameter under `prefix` differs between `a` and `b`."""
    keys = [k for k in a if k.startswith(prefix)]
    assert keys, f"no parameters under {prefix!r}"
    return any(not np.array_equal(a[k], b[k]) for k in keys)


def checkpoint_params(run_or_checkpoint: Path) -> dict[str, np.ndarray]:
    """model.safetensors of a checkpoint directory, or of the newest checkpoint of a run directory."""
    path = Path(run_or_checkpoint)
    if not (path / "model.safetensors").exists():
        path = sorted((path / "checkpoints").glob("step-*"))[-1]
    return load_file(str(path / "model.safetensors"))
