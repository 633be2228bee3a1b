"""Shared by the evaluation tests: tiny configs shrunk from the examples, an in-process CLI runner."""

from __future__ import annotations

import textwrap

from pathways.cli import main

_DECODER = """\
  decoder:
    type: gemma_decoder
    config: {width: 32, depth: 1, heads: 2, kv_heads: 1, head_dim: 16, mlp_dim: 64}
    inputs: {x: %s}
  lm_head:
    type: lm_head
    config: {vocab_size: 259, width: 32, tied: true}
    inputs: {x: decoder.x, embedding: text.table}
"""
_TEXT = """\
  text:
    type: token_embedding
    config: {vocab_size: 259, width: 32}
    inputs: {tokens: batch.tokens}
"""
_TRAIN = """\
train:
  steps: 1
  optimizer: {lr: 1.0e-3}
  schedule: {kind: constant}
  losses:
%s  log_every: 1
  checkpoint_every: 1
"""
_NEXT_TOKEN = "    - {type: next_token, logits: lm_head.logits, targets: batch.tokens}\n"
_FUSED = "fusion.x, mask: fusion.mask, positions: fusion.positions"

# examples/translation.yaml shrunk; T=256 so that the summarisation prompts (passages of up to 200 characters) fit.
TEXT = (
    "tokenizer: bytes\ndims: {B: 2, T: 256}\nbatch:\n  tokens: {shape: [B, T], dtype: int32}\npathways:\n"
    + _TEXT + _DECODER % "text.embeddings, token_mask: text.mask"
    + "data:\n  dataset: english_prose\n  fields: {tokens: text}\n" + _TRAIN % _NEXT_TOKEN
)

# examples/vqa.yaml shrunk.
VQA = (
    "tokenizer: bytes\ndims: {B: 2, T: 48}\nbatch:\n  tokens: {shape: [B, T], dtype: int32}\n  image: {shape: [B, 64, 64, 3], dtype: float32}\npathways:\n"
    + _TEXT
    + textwrap.indent(textwrap.dedent("""\
        image:
          type: vit_encoder
          config: {image_size: [64, 64], channels: 3, patch: 16, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
          inputs: {images: batch.image}
        fusion:
          type: early_fusion
          config: {width: 32}
          inputs: {prefix: [image.tokens], prefix_mask: [image.mask], text: text.embeddings, text_mask: text.mask}
        """), "  ")
    + _DECODER % _FUSED
    + "data:\n  dataset: easy_vqa\n  fields: {tokens: text, image: image}\n" + _TRAIN % _NEXT_TOKEN
)

# examples/spoken_numbers.yaml shrunk: audio prefix, decoder, and a 21-way classifier on the audio tokens.
AUDIO = (
    "tokenizer: bytes\ndims: {B: 2, T: 32}\nbatch:\n  tokens: {shape: [B, T], dtype: int32}\n"
    "  audio: {shape: [B, 16000], dtype: float32}\n  audio_mask: {shape: [B, 16000], dtype: bool}\n  label: {shape: [B], dtype: int32}\npathways:\n"
    + _TEXT
    + textwrap.indent(textwrap.dedent("""\
        audio:
          type: audio_encoder
          config: {num_samples: 16000, num_mels: 16, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
          inputs: {waveform: batch.audio, waveform_mask: batch.audio_mask}
        fusion:
          type: early_fusion
          config: {width: 32}
          inputs: {prefix: [audio.tokens], prefix_mask: [audio.mask], text: text.embeddings, text_mask: text.mask}
        number:
          type: classifier_head
          config: {width: 32, num_classes: 21, pool: mean}
          inputs: {x: audio.tokens, mask: audio.mask}
        """), "  ")
    + _DECODER % _FUSED
    + "data:\n  dataset: spoken_numbers\n  fields: {tokens: text, audio: audio, audio_mask: audio_mask, label: label}\n"
    + _TRAIN % (_NEXT_TOKEN + "    - {type: classification, logits: number.logits, targets: batch.label, weight: 0.5}\n")
)

# examples/digits.yaml shrunk, with the byte tokenizer.
DIGITS = (
    "tokenizer: bytes\ndims: {B: 2, T: 24}\nbatch:\n  tokens: {shape: [B, T], dtype: int32}\n  image: {shape: [B, 8, 8, 1], dtype: float32}\npathways:\n"
    + _TEXT
    + textwrap.indent(textwrap.dedent("""\
        image:
          type: vit_encoder
          config: {image_size: [8, 8], channels: 1, patch: 4, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
          inputs: {images: batch.image}
        fusion:
          type: early_fusion
          config: {width: 32}
          inputs: {prefix: [image.tokens], text: text.embeddings, text_mask: text.mask}
        """), "  ")
    + _DECODER % _FUSED
    + "data:\n  dataset: digits\n  fields: {tokens: text, image: image}\n" + _TRAIN % _NEXT_TOKEN
)

CONFIGS = {"text": TEXT, "vqa": VQA, "audio": AUDIO, "digits": DIGITS}


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run `pathways ARGV` in-process; returns (exit code, stdout, stderr) of that command alone."""
    capsys.readouterr()  # drop what came before (a fixture training a model)
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def fake_distribution(root, name: str, entry_points: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info with `pathways` entry points) under `root`."""
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    eps = "\n".join(f"{k} = {v}" for k, v in entry_points.items())
    (info / "entry_points.txt").write_text(f"[pathways]\n{eps}\n")
