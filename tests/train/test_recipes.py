"""The two recipes the product exists for, on imported Hugging Face checkpoints (README "Start from a pretrained model").

1. examples/paligemma_vqa.yaml: fine-tune only the projector, then only the image pathway,
   of an imported PaliGemma on easy-VQA; every other pathway stays bit-identical.
2. examples/llava_grow.yaml: a SigLIP tower and a Gemma decoder imported from two HF
   directories, joined by a new projector in one YAML that loads both; only the projector trains.
The HF directories are examples/pretrained/ (scripts/make_tiny_vision.py): stand-ins for hub downloads.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from trainkit import changed, checkpoint_params, cli, same

from pathways.interop import import_hf

ROOT = Path(__file__).resolve().parents[2]
PRETRAINED = ROOT / "examples" / "pretrained"
OTHERS = ("text", "image", "projector", "decoder")  # the tied lm_head has no weights of its own


@pytest.mark.slow
def test_finetune_only_the_projector_then_only_the_image_pathway_of_an_imported_paligemma(capsys, tmp_path):
    base = import_hf(PRETRAINED / "tiny-paligemma", tmp_path / "paligemma")
    imported = checkpoint_params(base)
    config = ROOT / "examples" / "paligemma_vqa.yaml"
    code, _, err = cli(capsys, "finetune", config, "--pathway", "projector", "--from", base, "--out", tmp_path / "projector", "--steps", 3)
    assert code == 0, err
    after = checkpoint_params(tmp_path / "projector")
    assert changed(imported, after, "projector.")
    assert all(same(imported, after, f"{name}.") for name in OTHERS if name != "projector")

    code, _, err = cli(capsys, "finetune", config, "--pathway", "image", "--from", tmp_path / "projector", "--out", tmp_path / "image", "--steps", 3)
    assert code == 0, err
    final = checkpoint_params(tmp_path / "image")
    assert changed(after, final, "image.")
    assert all(same(after, final, f"{name}.") for name in OTHERS if name != "image")


@pytest.mark.slow
def test_llava_growth_joins_two_imported_checkpoints_with_a_new_projector(capsys, tmp_path):
    siglip = checkpoint_params(import_hf(PRETRAINED / "tiny-siglip", tmp_path / "siglip"))
    gemma = checkpoint_params(import_hf(PRETRAINED / "tiny-gemma", tmp_path / "gemma"))
    config = tmp_path / "llava.yaml"  # the example, its checkpoints where this test imported them
    config.write_text(yaml.safe_dump({
        "extends": str(ROOT / "examples" / "llava_grow.yaml"),
        "train": {"init_from": [{"checkpoint": "siglip", "pathways": ["image"]}, {"checkpoint": "gemma"}]},
    }))
    code, out, err = cli(capsys, "train", config, "--out", tmp_path / "run", "--steps", 3)
    assert code == 0, err
    assert "pathway 'projector' is not in the checkpoint: freshly initialised" in out + err
    final = checkpoint_params(tmp_path / "run")
    assert same(siglip, final, "image.")
    assert all(same(gemma, final, f"{name}.") for name in ("text", "decoder"))
    assert sorted({k.split(".")[0] for k in final}) == ["decoder", "image", "projector", "text"]


def test_a_pathway_named_by_two_init_sources_is_one_error(capsys, tmp_path):
    import_hf(PRETRAINED / "tiny-gemma", tmp_path / "gemma")
    config = tmp_path / "llava.yaml"
    config.write_text(yaml.safe_dump({
        "extends": str(ROOT / "examples" / "llava_grow.yaml"),
        "train": {"init_from": [{"checkpoint": "gemma", "pathways": ["decoder"]}, {"checkpoint": "gemma", "pathways": ["decoder", "image"]}]},
    }))
    code, _, err = cli(capsys, "train", config, "--out", tmp_path / "run", "--steps", 1)
    assert code == 2
    lines = err.strip().splitlines()
    assert any("train.init_from.1.pathways" in line and "pathway 'decoder' is loaded from both" in line for line in lines), err
    assert any("has no pathway 'image' (it has decoder, text)" in line for line in lines), err
    assert not np.any([p.name == "checkpoints" for p in (tmp_path / "run").glob("*")])


def test_validate_names_an_init_from_pathway_the_graph_lacks(capsys, tmp_path):
    config = tmp_path / "llava.yaml"
    config.write_text(yaml.safe_dump({"extends": str(ROOT / "examples" / "llava_grow.yaml"), "train": {"init_from": [{"checkpoint": "x", "pathways": ["imgae"]}]}}))
    code, _, err = cli(capsys, "validate", config)
    assert code == 2 and "train.init_from.0.pathways.0: 'imgae' is not a pathway of this config; did you mean 'image'?" in err


@pytest.mark.slow
def test_an_imported_paligemma_generates_with_the_cache_as_without(tmp_path):
    """Generation reaches the imported graph through roles alone (siglip media, early fusion, cached decoder)."""
    import pathways
    from pathways.data._tokenizer import ByteTokenizer
    from pathways.generate import Generator

    model = pathways.load(import_hf(PRETRAINED / "tiny-paligemma", tmp_path / "pg"))
    gen = Generator(model, model.graph, ByteTokenizer())
    images = [np.random.default_rng(i).uniform(-1, 1, (64, 64, 3)).astype(np.float32) for i in range(2)]
    prompts = ["what color is the shape?", "what shape"]
    cached = gen.generate(prompts, images=images, max_new_tokens=6)
    full = gen.generate(prompts, images=images, max_new_tokens=6, use_cache=False)
    assert [g.tokens for g in cached] == [g.tokens for g in full]


def test_finetune_takes_its_checkpoints_from_train_init_from_or_needs_from(capsys, tmp_path):
    import_hf(PRETRAINED / "tiny-siglip", tmp_path / "siglip")
    import_hf(PRETRAINED / "tiny-gemma", tmp_path / "gemma")
    config = tmp_path / "llava.yaml"
    config.write_text(yaml.safe_dump({
        "extends": str(ROOT / "examples" / "llava_grow.yaml"),
        "train": {"init_from": [{"checkpoint": "siglip", "pathways": ["image"]}, {"checkpoint": "gemma"}]},
    }))
    code, _, err = cli(capsys, "finetune", config, "--pathway", "projector", "--out", tmp_path / "run", "--steps", 1)
    assert code == 0, err
    (tmp_path / "gemma").rename(tmp_path / "run" / "gemma")  # a source inside the run that --overwrite would replace
    config.write_text(config.read_text().replace("checkpoint: gemma", "checkpoint: run/gemma"))
    code, _, err = cli(capsys, "finetune", config, "--pathway", "projector", "--out", tmp_path / "run", "--overwrite", "--steps", 1)
    assert code == 2 and "train.init_from: lies inside --out" in err
    assert (tmp_path / "run" / "gemma" / "model.safetensors").is_file()
    code, _, err = cli(capsys, "finetune", ROOT / "examples" / "paligemma_vqa.yaml", "--pathway", "projector", "--out", tmp_path / "x")
    assert code == 2 and "--from: is required" in err
