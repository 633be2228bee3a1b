"""`pathways import hf-gemma`: a Hugging Face Gemma checkpoint gives the same logits in Pathways.

Most tests use the committed fixture (fixtures/tiny-gemma, made by
scripts/make_tiny_gemma.py) and need no torch; the last one builds a fresh
random model with transformers and compares against it directly.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file, save_file

import pathways
from pathways.config import load_config
from pathways.graph import resolve
from pathways.interop import HFImportError, gemma_config, import_hf_gemma
from pathways.interop.hf_gemma import check_shapes, param_shapes
from pathways.train import load as read_checkpoint

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "tiny-gemma"
GEMMA_2B = ROOT / "examples" / "presets" / "gemma-2b.yaml"


def logits(checkpoint: Path, tokens: np.ndarray) -> np.ndarray:
    """Logits of the Pathways model built from `checkpoint`'s own config and weights."""
    return np.asarray(pathways.load(checkpoint)({"tokens": tokens})["lm_head.logits"])


def copy_fixture(tmp_path: Path, name: str = "hf") -> Path:
    return Path(shutil.copytree(FIXTURE, tmp_path / name))


def edit_config(hf_dir: Path, **changes) -> None:
    file = hf_dir / "config.json"
    file.write_text(json.dumps({**json.loads(file.read_text()), **changes}))


# ---- the committed fixture (no torch) --------------------------------------------------


def test_cli_import_matches_the_reference_logits(cli, tmp_path):
    code, out, err = cli("import", "hf-gemma", FIXTURE, "--out", tmp_path / "ckpt")
    assert code == 0, err
    assert "wrote" in out
    ref = np.load(FIXTURE / "logits.npy")
    got = logits(tmp_path / "ckpt", np.load(FIXTURE / "tokens.npy"))
    assert got.shape == ref.shape
    assert np.abs(got - ref).max() < 1e-4
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["step"] == 0 and state["imported_from"]["format"] == "hf"
    assert state["tokenizer"] is None and not (tmp_path / "ckpt" / "tokenizer.model").exists()
    decoder = yaml.safe_load((tmp_path / "ckpt" / "config.yaml").read_text())["pathways"]["decoder"]["config"]
    assert decoder | {"rope_base": 500.0, "norm_eps": 1e-5, "kv_heads": 2, "head_dim": 16} == decoder  # HF's values, not defaults


def test_bfloat16_weights_are_read_without_torch(tmp_path):
    hf = copy_fixture(tmp_path)
    tensors = load_file(str(FIXTURE / "model.safetensors"))
    save_file({k: v.astype(ml_dtypes.bfloat16) for k, v in tensors.items()}, str(hf / "model.safetensors"))
    params = read_checkpoint(import_hf_gemma(hf, tmp_path / "ckpt")).params
    rounded = tensors["model.embed_tokens.weight"].astype(ml_dtypes.bfloat16).astype(np.float32)
    assert params["text.weight"].dtype == np.float32
    np.testing.assert_array_equal(params["text.weight"], rounded)


def test_bfloat16_weights_are_kept_with_dtype_keep_and_the_model_runs(cli, tmp_path):
    hf = copy_fixture(tmp_path)
    tensors = load_file(str(FIXTURE / "model.safetensors"))
    save_file({k: v.astype(ml_dtypes.bfloat16) for k, v in tensors.items()}, str(hf / "model.safetensors"))
    code, _, err = cli("import", "hf", hf, "--out", tmp_path / "kept", "--dtype", "keep")
    assert code == 0, err
    kept = load_file(str(tmp_path / "kept" / "model.safetensors"))
    assert {v.dtype for v in kept.values()} == {np.dtype(ml_dtypes.bfloat16)}
    assert (tmp_path / "kept" / "model.safetensors").stat().st_size < 0.6 * (FIXTURE / "model.safetensors").stat().st_size
    widened = import_hf_gemma(hf, tmp_path / "wide")
    tokens = np.load(FIXTURE / "tokens.npy")
    half = np.asarray(pathways.load(tmp_path / "kept")({"tokens": tokens})["lm_head.logits"], np.float32)
    full = np.asarray(pathways.load(widened)({"tokens": tokens})["lm_head.logits"])
    assert np.abs(half - full).max() < 0.1 * np.abs(full).max()  # the same model, computed in bfloat16


def test_sharded_checkpoint_imports_the_same_weights(tmp_path):
    hf = copy_fixture(tmp_path)
    tensors = load_file(str(hf / "model.safetensors"))
    (hf / "model.safetensors").unlink()
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2], "model-00002-of-00002.safetensors": names[len(names) // 2 :]}
    for file, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, str(hf / file))
    weight_map = {k: file for file, keys in shards.items() for k in keys}
    (hf / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    sharded = read_checkpoint(import_hf_gemma(hf, tmp_path / "sharded")).params
    whole = read_checkpoint(import_hf_gemma(FIXTURE, tmp_path / "whole")).params
    assert sharded.keys() == whole.keys()
    assert all(np.array_equal(sharded[k], whole[k]) for k in whole)


def test_non_gemma_checkpoint_is_an_error_naming_file_and_type(cli, tmp_path):
    hf = copy_fixture(tmp_path)
    edit_config(hf, model_type="llama")
    code, _, err = cli("import", "hf-gemma", hf, "--out", tmp_path / "ckpt")
    assert code == 2
    assert f"{hf / 'config.json'}: model_type: is 'llama': supported model types are gemma, gemma2, gemma3_text" in err
    assert not (tmp_path / "ckpt").exists()


def test_other_activation_is_an_error(tmp_path):
    hf = copy_fixture(tmp_path)
    edit_config(hf, hidden_act="relu")
    with pytest.raises(HFImportError, match="hidden_act: is 'relu': the Gemma decoder uses tanh-approximated GELU"):
        import_hf_gemma(hf, tmp_path / "ckpt")


def test_missing_and_unknown_tensors_are_listed(tmp_path):
    hf = copy_fixture(tmp_path)
    tensors = load_file(str(hf / "model.safetensors"))
    del tensors["model.layers.1.mlp.up_proj.weight"]
    tensors["model.layers.0.self_attn.q_norm.weight"] = np.ones(16, np.float32)
    save_file(tensors, str(hf / "model.safetensors"))
    with pytest.raises(HFImportError) as exc:
        import_hf_gemma(hf, tmp_path / "ckpt")
    lines = str(exc.value).splitlines()
    assert "layers.1.mlp.up_proj.weight: is missing (needed for decoder.blocks.layers.mlp.up_proj.weight)" in lines
    assert "layers.0.self_attn.q_norm.weight: is not a Gemma weight this import knows (left unused)" in lines
    assert not (tmp_path / "ckpt").exists()


def test_target_with_other_shapes_is_an_error_naming_parameter_and_shapes(cli, tmp_path):
    code, _, err = cli("import", "hf-gemma", FIXTURE, "--out", tmp_path / "ckpt", "--target", GEMMA_2B)
    assert code == 2
    assert f"{GEMMA_2B}: text.weight: imported shape [256, 32], target shape [256000, 2048]" in err
    assert "decoder.blocks.layers.attn.q_proj.weight: imported shape [2, 32, 64], target shape [18, 2048, 2048]" in err
    assert not (tmp_path / "ckpt").exists()


def test_target_with_the_same_shapes_passes(tmp_path):
    first = import_hf_gemma(FIXTURE, tmp_path / "first")
    import_hf_gemma(FIXTURE, tmp_path / "second", target=first / "config.yaml")


def test_hf_gemma_2b_config_gives_the_preset_shapes(tmp_path):
    """google/gemma-2b's config.json (transformers 4 layout) maps onto examples/presets/gemma-2b.yaml exactly."""
    hf = {
        "architectures": ["GemmaForCausalLM"], "model_type": "gemma", "vocab_size": 256000, "hidden_size": 2048,
        "intermediate_size": 16384, "num_hidden_layers": 18, "num_attention_heads": 8, "num_key_value_heads": 1,
        "head_dim": 256, "hidden_act": "gelu", "max_position_embeddings": 8192, "rms_norm_eps": 1e-06,
        "rope_scaling": None, "rope_theta": 10000.0, "attention_bias": False, "pad_token_id": 0, "torch_dtype": "bfloat16",
    }
    config = tmp_path / "imported.yaml"
    config.write_text(yaml.safe_dump(gemma_config(hf)))
    check_shapes(param_shapes(config), GEMMA_2B)


def test_tokenizer_model_is_carried_into_the_checkpoint(tmp_path):
    """A HF dir with tokenizer.model: the checkpoint copies it, names it in config.yaml and records its identity."""
    tokenizer = ROOT / "examples" / "tokenizers" / "english.model"  # 512 pieces, pad 0
    hf = tmp_path / "hf"
    hf.mkdir()
    cfg = {"model_type": "gemma", "vocab_size": 512, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
           "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 4, "max_position_embeddings": 16}
    (hf / "config.json").write_text(json.dumps(cfg))
    shapes = {"model.embed_tokens.weight": [512, 8], "model.norm.weight": [8], "model.layers.0.input_layernorm.weight": [8],
              "model.layers.0.post_attention_layernorm.weight": [8], "model.layers.0.self_attn.q_proj.weight": [8, 8],
              "model.layers.0.self_attn.k_proj.weight": [4, 8], "model.layers.0.self_attn.v_proj.weight": [4, 8],
              "model.layers.0.self_attn.o_proj.weight": [8, 8], "model.layers.0.mlp.gate_proj.weight": [16, 8],
              "model.layers.0.mlp.up_proj.weight": [16, 8], "model.layers.0.mlp.down_proj.weight": [8, 16]}
    rng = np.random.default_rng(0)
    save_file({k: rng.normal(size=s).astype(np.float32) for k, s in shapes.items()}, str(hf / "model.safetensors"))
    shutil.copy(tokenizer, hf / "tokenizer.model")
    out = import_hf_gemma(hf, tmp_path / "ckpt")
    assert (out / "tokenizer.model").read_bytes() == tokenizer.read_bytes()
    assert yaml.safe_load((out / "config.yaml").read_text())["tokenizer"] == "tokenizer.model"
    state = json.loads((out / "state.json").read_text())
    assert state["tokenizer"]["type"] == "sentencepiece" and state["tokenizer"]["vocab_size"] == 512
    assert resolve(load_config(out / "config.yaml")).tokenizer.identity == state["tokenizer"]  # self-contained


# ---- against transformers itself (needs the `reference` extra) -------------------------


@pytest.mark.slow
def test_logits_match_transformers(tmp_path):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    config = transformers.GemmaConfig(
        vocab_size=256, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=1, head_dim=16, max_position_embeddings=32, attn_implementation="eager",
    )
    torch.manual_seed(0)
    model = transformers.GemmaForCausalLM(config).float().eval()
    with torch.no_grad():
        for p in model.parameters():  # norms too: HF starts them at 0, which hides a `w` vs `1 + w` bug
            torch.nn.init.normal_(p, std=0.2)
    model.save_pretrained(tmp_path / "hf")
    tokens = np.random.default_rng(1).integers(1, 256, size=(2, 16), dtype=np.int32)  # no pad id
    ids = torch.from_numpy(tokens.astype(np.int64))
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.numpy()
    got = logits(import_hf_gemma(tmp_path / "hf", tmp_path / "ckpt"), tokens)
    assert np.abs(got - ref).max() < 1e-4
