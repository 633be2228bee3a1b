"""`pathways export hf`: a Pathways Gemma text checkpoint back as a Hugging Face directory.

Import then export gives back HF's very tensors and options (no torch); with the `reference`
extra, transformers' `from_pretrained` on an export of changed weights gives Pathways' logits.
"""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file

import pathways
from pathways.cli import main
from pathways.interop import HFExportError, export_hf, import_hf
from pathways.train import load, write_checkpoint
from pathways.train._checkpoint import model_params

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FAMILIES = ["tiny-gemma", "tiny-gemma2", "tiny-gemma3"]
VISION = ["tiny-siglip", "tiny-paligemma", "tiny-gemma3-vision"]
# config.json keys that decide the computation (the rest is bookkeeping: ids, dtype, versions)
MEANING = [
    "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
    "head_dim", "rms_norm_eps", "rope_parameters", "layer_types", "sliding_window", "query_pre_attn_scalar",
    "attn_logit_softcapping", "final_logit_softcapping", "tie_word_embeddings",
]


@pytest.mark.parametrize("family", FAMILIES)
def test_import_then_export_gives_back_the_same_tensors_and_options(capsys, tmp_path, family):
    import_hf(FIXTURES / family, tmp_path / "ckpt")
    assert main(["export", "hf", str(tmp_path / "ckpt"), "--out", str(tmp_path / "hf")]) == 0
    want, got = load_file(str(FIXTURES / family / "model.safetensors")), load_file(str(tmp_path / "hf" / "model.safetensors"))
    want = {k if k.startswith("model.") else f"model.{k}": v for k, v in want.items() if k != "lm_head.weight"}
    assert sorted(got) == sorted(want)
    assert all(got[k].shape == want[k].shape and np.array_equal(got[k], want[k]) for k in want)
    original, exported = json.loads((FIXTURES / family / "config.json").read_text()), json.loads((tmp_path / "hf" / "config.json").read_text())
    for key in MEANING:
        if key in original or key in exported:
            assert exported.get(key) == original.get(key) or (key == "sliding_window" and "layer_types" not in original), key


@pytest.mark.parametrize("family", VISION)
def test_vision_models_import_then_export_to_the_same_tensors_and_options(tmp_path, family):
    export_hf(import_hf(FIXTURES / family, tmp_path / "ckpt"), tmp_path / "hf")
    want, got = load_file(str(FIXTURES / family / "model.safetensors")), load_file(str(tmp_path / "hf" / "model.safetensors"))
    assert sorted(got) == sorted(want)
    assert all(got[k].shape == want[k].shape and np.array_equal(got[k], want[k]) for k in want)
    original, exported = json.loads((FIXTURES / family / "config.json").read_text()), json.loads((tmp_path / "hf" / "config.json").read_text())
    assert exported["model_type"] == original["model_type"]
    for part in ("vision_config", "text_config"):
        for key in MEANING + ["image_size", "patch_size", "layer_norm_eps", "vision_use_head", "projection_dim"]:
            if part in original and key in original[part]:
                assert exported[part].get(key) == original[part][key], (part, key)
    for key in ("image_token_index", "mm_tokens_per_image", "projection_dim"):
        assert exported.get(key) == original.get(key), key


def test_large_exports_are_sharded_with_an_index_that_imports_back(cli, tmp_path):
    import_hf(FIXTURES / "tiny-gemma3", tmp_path / "ckpt")
    code, _, err = cli("export", "hf", tmp_path / "ckpt", "--out", tmp_path / "hf", "--max-shard-size", "60KB")
    assert code == 0, err
    files = sorted(p.name for p in (tmp_path / "hf").glob("*.safetensors"))
    assert len(files) > 1 and files[0] == f"model-00001-of-{len(files):05d}.safetensors"
    index = json.loads((tmp_path / "hf" / "model.safetensors.index.json").read_text())
    parts = {f: load_file(str(tmp_path / "hf" / f)) for f in files}
    assert all(p.stat().st_size <= 60_000 + 4096 or len(parts[p.name]) == 1 for p in (tmp_path / "hf").glob("*.safetensors"))
    assert {k: f for f, t in parts.items() for k in t} == index["weight_map"]
    again = load(import_hf(tmp_path / "hf", tmp_path / "again")).params
    first = load(tmp_path / "ckpt").params
    assert sorted(again) == sorted(first) and all(np.array_equal(again[k], first[k]) for k in first)
    code, _, err = cli("export", "hf", tmp_path / "ckpt", "--out", tmp_path / "x", "--max-shard-size", "lots")
    assert code == 2 and "'lots' is not a size" in err


def test_only_graphs_hf_has_export_and_out_must_be_new(cli, tmp_path, base_checkpoint):
    code, _, err = cli("export", "hf", base_checkpoint, "--out", tmp_path / "hf")
    assert code == 2 and "pathways.image: is 'vit_encoder'; a Hugging Face vision-language export needs 'siglip_encoder' here" in err
    assert "pathways.projector: is None; a Hugging Face vision-language export needs 'linear_projector' or 'pooling_projector' here" in err
    assert not (tmp_path / "hf").exists()
    import_hf(FIXTURES / "tiny-gemma2", tmp_path / "ckpt")
    (tmp_path / "taken").mkdir()
    with pytest.raises(HFExportError, match="--out: already exists"):
        export_hf(tmp_path / "ckpt", tmp_path / "taken")


@pytest.fixture
def base_checkpoint(tmp_path):
    """A checkpoint of an image+text graph (examples/digits.yaml's shape), weights random."""
    graph = pathways.validate(Path(__file__).resolve().parents[2] / "examples" / "digits.yaml")
    model = pathways.build(graph, jax.random.key(0))
    from pathways.config import resolved_yaml
    from pathways.train import CheckpointState

    config = resolved_yaml(graph.loaded)
    config["tokenizer"] = str((Path(graph.loaded.path).parent / config["tokenizer"]).resolve()) if config.get("tokenizer") not in (None, "bytes") else config.get("tokenizer")
    return write_checkpoint(tmp_path / "digits", params=model_params(model), opt_state=None, state=CheckpointState(step=0), config=config)


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILIES)
def test_changed_weights_load_in_transformers_with_the_same_logits(tmp_path, family):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    c = load(import_hf(FIXTURES / family, tmp_path / "imported"))
    rng = np.random.default_rng(3)  # a "fine-tuned" decoder: every decoder weight moved, the rest as imported
    params = {k: v + (0.05 * rng.normal(size=v.shape).astype(np.float32) if k.startswith("decoder.") else 0) for k, v in c.params.items()}
    tuned = write_checkpoint(tmp_path / "tuned", params=params, opt_state=None, state=c.state, config=c.config)
    export_hf(tuned, tmp_path / "hf")
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf", attn_implementation="eager").float().eval()
    tokens = np.load(FIXTURES / family / "tokens.npy")
    ids = torch.from_numpy(tokens.astype(np.int64))
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.numpy()
    got = np.asarray(pathways.load(tuned)({"tokens": tokens})["lm_head.logits"])
    assert np.abs(got - ref).max() < 1e-4
    assert np.abs(got - np.load(FIXTURES / family / "logits.npy")).max() > 1e-3  # the change is really in there


@pytest.mark.slow
@pytest.mark.parametrize("family", ["tiny-paligemma", "tiny-gemma3-vision"])
def test_a_fine_tuned_projector_loads_in_transformers_with_the_same_logits(tmp_path, family):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    c = load(import_hf(FIXTURES / family, tmp_path / "imported"))
    rng = np.random.default_rng(4)  # a "fine-tuned" projector: only its weights moved
    params = {k: v + (0.2 * rng.normal(size=v.shape).astype(np.float32) if k.startswith("projector.") else 0) for k, v in c.params.items()}
    tuned = write_checkpoint(tmp_path / "tuned", params=params, opt_state=None, state=c.state, config=c.config)
    export_hf(tuned, tmp_path / "hf")
    cls = transformers.PaliGemmaForConditionalGeneration if family == "tiny-paligemma" else transformers.Gemma3ForConditionalGeneration
    model = cls.from_pretrained(tmp_path / "hf", attn_implementation="eager").float().eval()
    tokens, pixels = np.load(FIXTURES / family / "tokens.npy"), np.load(FIXTURES / family / "pixels.npy")
    n = 16 if family == "tiny-paligemma" else 4
    image_token = json.loads((tmp_path / "hf" / "config.json").read_text())["image_token_index"]
    ids = torch.from_numpy(np.concatenate([np.full((2, n), image_token), tokens], axis=1).astype(np.int64))
    # token types as the imported graph attends: the image bidirectional (PaliGemma: 0 = prefix), the text causal
    types = np.concatenate([np.zeros((2, n)), np.ones((2, 8))], axis=1) if family == "tiny-paligemma" else np.concatenate([np.ones((2, n)), np.zeros((2, 8))], axis=1)
    with torch.no_grad():
        ref = model(
            input_ids=ids, pixel_values=torch.from_numpy(pixels.transpose(0, 3, 1, 2).copy()), attention_mask=torch.ones_like(ids),
            token_type_ids=torch.from_numpy(types.astype(np.int64)),
        ).logits.numpy()[:, -8:]
    got = np.asarray(pathways.load(tuned)({"tokens": tokens, "image": pixels})["lm_head.logits"])[:, -8:]
    assert np.abs(got - ref).max() < 1e-4
    assert np.abs(got - np.load(FIXTURES / family / "logits.npy")[:, -8:]).max() > 1e-3  # the change is really in there


@pytest.mark.slow
def test_a_lora_run_on_an_imported_gemma_exports_merged(cli, tmp_path):
    base = import_hf(Path(__file__).resolve().parents[2] / "examples" / "pretrained" / "tiny-gemma", tmp_path / "base")
    config = yaml.safe_load((base / "config.yaml").read_text())
    config |= {
        "tokenizer": "bytes",
        "dims": {"B": 4, "T": 32},
        "data": {"dataset": "easy_vqa", "fields": {"tokens": "text"}},
        "train": {"steps": 2, "optimizer": {"lr": 0.05}, "losses": [{"type": "next_token", "logits": "lm_head.logits", "targets": "batch.tokens"}], "log_every": 1, "checkpoint_every": 2},
    }
    (tmp_path / "ft.yaml").write_text(yaml.safe_dump(config))
    code, _, err = cli("finetune", tmp_path / "ft.yaml", "--pathway", "decoder", "--lora-rank", 4, "--from", base, "--out", tmp_path / "run")
    assert code == 0, err
    code, _, err = cli("export", "hf", tmp_path / "run", "--out", tmp_path / "hf")
    assert code == 0, err
    exported, original = load_file(str(tmp_path / "hf" / "model.safetensors")), load_file(str(base.parent / "base" / "model.safetensors"))
    q = "model.layers.0.self_attn.q_proj.weight"
    assert q in exported and not np.array_equal(exported[q], original["decoder.blocks.layers.attn.q_proj.weight"][0].T)  # the adapters are in there
    tokens = np.random.default_rng(0).integers(3, 259, size=(2, 10)).astype(np.int32)
    adapted = np.asarray(pathways.load(tmp_path / "run")({"tokens": tokens})["lm_head.logits"])
    reimported = np.asarray(pathways.load(import_hf(tmp_path / "hf", tmp_path / "again"))({"tokens": tokens})["lm_head.logits"])
    np.testing.assert_allclose(reimported, adapted, atol=1e-4, rtol=0)
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    model = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf", attn_implementation="eager").float().eval()
    with torch.no_grad():
        ref = model(input_ids=torch.from_numpy(tokens.astype(np.int64))).logits.numpy()
    assert np.abs(ref - adapted).max() < 1e-4


@pytest.mark.slow
def test_a_fine_tuned_siglip_loads_in_transformers_with_the_same_outputs(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    c = load(import_hf(FIXTURES / "tiny-siglip", tmp_path / "imported"))
    rng = np.random.default_rng(5)
    params = {k: v + 0.05 * rng.normal(size=v.shape).astype(np.float32) for k, v in c.params.items()}
    tuned = write_checkpoint(tmp_path / "tuned", params=params, opt_state=None, state=c.state, config=c.config)
    export_hf(tuned, tmp_path / "hf")
    model = transformers.SiglipVisionModel.from_pretrained(tmp_path / "hf", attn_implementation="eager").float().eval()
    pixels = np.load(FIXTURES / "tiny-siglip" / "pixels.npy")
    with torch.no_grad():
        ref = model(pixel_values=torch.from_numpy(pixels.transpose(0, 3, 1, 2).copy()))
    got = pathways.load(tuned)({"image": pixels})
    assert np.abs(np.asarray(got["image.tokens"]) - ref.last_hidden_state.numpy()).max() < 1e-4
    assert np.abs(np.asarray(got["image.pooled"]) - ref.pooler_output.numpy()).max() < 1e-4
