"""Growing and shrinking a model from the CLI: train a text LM, add an image pathway, or drop one."""

from __future__ import annotations

import jax
import pytest
from trainkit import TINY_TEXT_LM, changed, checkpoint_params, cli, same, write_config

from pathways.config import load_config
from pathways.graph import build, resolve
from pathways.train._checkpoint import model_params

# examples/digits_grow.yaml on the tiny text LM: add a ViT and early fusion, train only the image pathway.
GROW = """\
extends: text_lm.yaml
name: tiny-grown
batch:
  image: {shape: [B, 8, 8, 1], dtype: float32}
pathways:
  image:
    type: vit_encoder
    config: {image_size: [8, 8], channels: 1, patch: 4, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
    inputs: {images: batch.image}
  fusion:
    type: early_fusion
    config: {width: 32}
    inputs: {prefix: [image.tokens], text: text.embeddings, text_mask: text.mask}
  decoder:
    inputs: {x: fusion.x, mask: fusion.mask, positions: fusion.positions, token_mask: null}
data:
  fields: {tokens: text, image: image}
train:
  trainable: [image]
"""

# The tiny digits model without its image side: a text LM fine-tuned from the image+text checkpoint.
SHRINK = """\
extends: digits.yaml
name: tiny-shrunk
remove: [image, fusion]
batch:
  image: null
pathways:
  decoder:
    inputs: {x: text.embeddings, mask: null, positions: null, token_mask: text.mask}
data:
  fields: {image: null}
"""


@pytest.mark.slow  # two runs, two compilations: ~8 s idle, over 15 s on 2 busy cores
def test_grow_a_text_lm_into_an_image_text_model(capsys, tmp_path):
    base_config = write_config(tmp_path, "text_lm.yaml", base=TINY_TEXT_LM)
    code, _, err = cli(capsys, "train", base_config, "--out", tmp_path / "text-lm", "--no-progress")
    assert code == 0, err

    grow = tmp_path / "grow.yaml"
    grow.write_text(GROW)
    code, out, err = cli(capsys, "finetune", grow, "--pathway", "image", "--from", tmp_path / "text-lm", "--out", tmp_path / "grown", "--no-progress")
    assert code == 0, err
    assert "note: pathway 'image' is not in the checkpoint: freshly initialised (it is being trained)" in out

    base, grown = checkpoint_params(tmp_path / "text-lm"), checkpoint_params(tmp_path / "grown")
    assert same(base, grown, "text.") and same(base, grown, "decoder.")
    assert not any(k.startswith("image.") for k in base)
    fresh = model_params(build(resolve(load_config(grow)), jax.random.key(0)))  # the image pathway before training
    assert changed(fresh, grown, "image.")


def test_remove_pathways_and_finetune_the_rest(capsys, tmp_path, base_run):
    write_config(tmp_path, "digits.yaml")
    shrink = tmp_path / "shrink.yaml"
    shrink.write_text(SHRINK)
    code, out, err = cli(capsys, "finetune", shrink, "--pathway", "decoder", "--from", base_run, "--out", tmp_path / "shrunk", "--no-progress")
    assert code == 0, err
    assert "note: checkpoint pathways not in this graph (not loaded): image" in out

    base, shrunk = checkpoint_params(base_run), checkpoint_params(tmp_path / "shrunk")
    assert sorted({k.split(".")[0] for k in shrunk}) == ["decoder", "text"]
    assert same(base, shrunk, "text.")
    assert changed(base, shrunk, "decoder.")
