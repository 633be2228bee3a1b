"""SigLIP, PaliGemma and Gemma 3 vision-language checkpoints import as pathways and give transformers' outputs.

The committed fixtures (fixtures/tiny-siglip, tiny-paligemma, tiny-gemma3-vision, made by
scripts/make_tiny_vision.py) randomise every weight, norms included, and need no torch.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from safetensors.numpy import load_file, save_file

import pathways
from pathways.interop import HFImportError, import_hf

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def imported(tmp_path: Path, name: str):
    return pathways.load(import_hf(FIXTURES / name, tmp_path / name))


def test_siglip_hidden_states_and_pooled_output_match_transformers(tmp_path):
    model = imported(tmp_path, "tiny-siglip")
    out = model({"image": np.load(FIXTURES / "tiny-siglip/pixels.npy")})
    np.testing.assert_allclose(out["image.tokens"], np.load(FIXTURES / "tiny-siglip/hidden.npy"), atol=1e-4, rtol=0)
    np.testing.assert_allclose(out["image.pooled"], np.load(FIXTURES / "tiny-siglip/pooled.npy"), atol=1e-4, rtol=0)
    config = yaml.safe_load((tmp_path / "tiny-siglip/config.yaml").read_text())
    assert config["pathways"]["image"]["config"] | {} == {
        **config["pathways"]["image"]["config"],
        "image_size": [16, 16], "patch": 4, "width": 24, "depth": 2, "heads": 2, "mlp_dim": 40, "norm_eps": 1e-5, "attention_pool": True,
    }


def text_logits(model, name: str, *, text_prefix: np.ndarray | None = None) -> np.ndarray:
    """Logits at the text positions; with `text_prefix`, the fusion gets it (PaliGemma's bidirectional prompt)."""
    batch = {"tokens": np.load(FIXTURES / name / "tokens.npy"), "image": np.load(FIXTURES / name / "pixels.npy")}
    T = batch["tokens"].shape[1]
    if text_prefix is None:
        return np.asarray(model(batch)["lm_head.logits"])[:, -T:]
    values = model.forward(batch)
    p = model.pathways
    fused = p["fusion"](
        prefix=(values["projector.tokens"],), prefix_mask=(values["projector.mask"],), text=values["text.embeddings"],
        text_mask=values["text.mask"], text_prefix=text_prefix,
    )
    x = p["decoder"](x=fused["x"], mask=fused["mask"], positions=fused["positions"])["x"]
    return np.asarray(p["lm_head"](x=x, embedding=values["text.table"])["logits"])[:, -T:]


def test_paligemma_logits_match_transformers_with_the_prefix_lm_mask(tmp_path):
    model = imported(tmp_path, "tiny-paligemma")
    want = np.load(FIXTURES / "tiny-paligemma/logits.npy")[:, -8:]
    prompt = np.zeros((2, 8), bool)
    prompt[:, :3] = True  # token_type_ids == 0 over the first 3 text tokens (scripts/make_tiny_vision.py)
    got = text_logits(model, "tiny-paligemma", text_prefix=prompt)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    # The prompt's bidirectional attention matters: without it the prompt's logits differ, the answer's too.
    causal = text_logits(model, "tiny-paligemma")
    assert np.abs(causal[:, :3] - want[:, :3]).max() > 1e-2


def test_gemma3_vision_logits_match_transformers(tmp_path):
    model = imported(tmp_path, "tiny-gemma3-vision")
    got = text_logits(model, "tiny-gemma3-vision")
    np.testing.assert_allclose(got, np.load(FIXTURES / "tiny-gemma3-vision/logits.npy")[:, -8:], atol=1e-4, rtol=0)
    config = yaml.safe_load((tmp_path / "tiny-gemma3-vision/config.yaml").read_text())
    p = config["pathways"]
    assert [p[n]["type"] for n in p] == ["token_embedding", "siglip_encoder", "pooling_projector", "early_fusion", "gemma_decoder", "lm_head"]
    assert p["projector"]["config"]["output_tokens"] == 4 and p["fusion"]["config"]["prefix_attention"] == "per_prefix"
    assert p["decoder"]["config"]["attention_pattern"] == ["local", "local", "global"]


def copy(tmp_path: Path, name: str, **changes) -> Path:
    hf = Path(shutil.copytree(FIXTURES / name, tmp_path / "hf"))
    file = hf / "config.json"
    config = json.loads(file.read_text())
    for key, value in changes.items():
        *parents, last = key.split(".")
        node = config
        for p in parents:
            node = node[p]
        node[last] = value
    file.write_text(json.dumps(config))
    return hf


def problems(exc) -> list[str]:
    return [str(p) for p in exc.value.problems]


def test_the_image_size_must_match_the_position_table(tmp_path):
    hf = copy(tmp_path, "tiny-paligemma", **{"vision_config.image_size": 32})
    with pytest.raises(HFImportError) as exc:
        import_hf(hf, tmp_path / "ckpt")
    assert any("has 16 positions, but image_size 32 / patch_size 4 makes 64 patches" in p for p in problems(exc)), problems(exc)
    assert not (tmp_path / "ckpt").exists()


def test_unsupported_vision_options_and_stray_tensors_are_named(tmp_path):
    hf = copy(tmp_path, "tiny-gemma3-vision", **{"vision_config.hidden_act": "relu", "text_config.model_type": "gemma2"})
    with pytest.raises(HFImportError) as exc:
        import_hf(hf, tmp_path / "ckpt")
    assert any("vision_config.hidden_act" in p and "'relu'" in p for p in problems(exc)), problems(exc)

    hf = Path(shutil.copytree(FIXTURES / "tiny-paligemma", tmp_path / "extra"))
    tensors = load_file(hf / "model.safetensors")
    tensors["multi_modal_projector.extra.weight"] = np.zeros(3, np.float32)
    del tensors["vision_tower.post_layernorm.bias"]
    save_file(tensors, hf / "model.safetensors")
    with pytest.raises(HFImportError) as exc:
        import_hf(hf, tmp_path / "ckpt")
    said = problems(exc)
    assert any("multi_modal_projector.extra.weight" in p and "left unused" in p for p in said), said
    assert any("vision_tower.post_layernorm.bias" in p and "missing" in p for p in said), said
    assert not (tmp_path / "ckpt").exists()


def test_an_unsupported_model_type_lists_the_supported_ones(tmp_path):
    hf = copy(tmp_path, "tiny-siglip", model_type="clip_vision_model")
    with pytest.raises(HFImportError) as exc:
        import_hf(hf, tmp_path / "ckpt")
    (said,) = problems(exc)
    assert "'clip_vision_model'" in said and all(f in said for f in ("gemma3_text", "paligemma", "siglip_vision_model", "gemma3"))


def test_a_paligemma2_prefix_longer_than_its_window_is_refused_naming_the_field(tmp_path):
    hf = copy(tmp_path, "tiny-paligemma", **{"text_config.model_type": "gemma2", "text_config.sliding_window": 8, "text_config.layer_types": ["sliding_attention", "full_attention"]})
    with pytest.raises(HFImportError) as exc:
        import_hf(hf, tmp_path / "ckpt")
    assert any("text_config.sliding_window" in p and "16 image tokens exceed it" in p for p in problems(exc)), problems(exc)
