"""Gemma 2 and Gemma 3 text checkpoints import with their families' options and give transformers' logits.

The committed fixtures (fixtures/tiny-gemma2, tiny-gemma3, made by scripts/make_tiny_gemma.py) hold every
option of each family and need no torch; the last test draws fresh random models with transformers.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import pathways
from pathways.interop import HFImportError, import_hf_gemma

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def logits(checkpoint: Path, tokens: np.ndarray) -> np.ndarray:
    return np.asarray(pathways.load(checkpoint)({"tokens": tokens})["lm_head.logits"])


def edited(tmp_path: Path, family: str, **changes) -> Path:
    hf = Path(shutil.copytree(FIXTURES / family, tmp_path / "hf"))
    file = hf / "config.json"
    file.write_text(json.dumps({**json.loads(file.read_text()), **changes}))
    return hf


EXPECTED = {  # what config.yaml must say, from each fixture's config.json
    "tiny-gemma2": {
        "decoder": {"attention_pattern": ["local", "global"], "sliding_window": 4, "attn_logit_softcap": 5.0, "post_norms": True, "query_pre_attn_scalar": 24.0, "rope_base": 500.0},
        "lm_head": {"softcap": 3.0},
    },
    "tiny-gemma3": {
        "decoder": {
            "attention_pattern": ["local", "local", "global"], "sliding_window": 4, "qk_norm": True, "post_norms": True,
            "query_pre_attn_scalar": 24.0, "rope_base": 5000.0, "rope_local_base": 100.0, "rope_global_scaling": 4.0,
        },
        "lm_head": {},
    },
}


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_import_hf_gives_the_reference_logits_with_every_option(cli, tmp_path, family):
    code, out, err = cli("import", "hf", FIXTURES / family, "--out", tmp_path / "ckpt")
    assert code == 0, err
    got = logits(tmp_path / "ckpt", np.load(FIXTURES / family / "tokens.npy"))
    ref = np.load(FIXTURES / family / "logits.npy")
    assert got.shape == ref.shape and np.abs(got - ref).max() < 1e-4
    pathways_ = yaml.safe_load((tmp_path / "ckpt" / "config.yaml").read_text())["pathways"]
    for name, fields in EXPECTED[family].items():
        config = pathways_[name]["config"]
        assert config | fields == config, (name, config)
    assert "attn_logit_softcap" not in pathways_["decoder"]["config"] or family == "tiny-gemma2"
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    assert state["imported_from"]["model_type"] == json.loads((FIXTURES / family / "config.json").read_text())["model_type"]


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_the_sliding_window_is_what_makes_the_logits_agree(tmp_path, family):
    """Read every layer as global and the logits move far off: the local layers are really exercised."""
    depth = json.loads((FIXTURES / family / "config.json").read_text())["num_hidden_layers"]
    hf = edited(tmp_path, family, layer_types=["full_attention"] * depth)
    got = logits(import_hf_gemma(hf, tmp_path / "ckpt"), np.load(FIXTURES / family / "tokens.npy"))
    assert np.abs(got - np.load(FIXTURES / family / "logits.npy")).max() > 1e-2


def test_unsupported_rope_and_layer_types_name_the_field(tmp_path):
    hf = edited(tmp_path, "tiny-gemma3", rope_parameters={"full_attention": {"rope_type": "yarn", "rope_theta": 1e6, "factor": 8.0}, "sliding_attention": {"rope_type": "default", "rope_theta": 1e4}})
    with pytest.raises(HFImportError, match=r"rope_parameters.full_attention: RoPE type 'yarn' is not supported \(default, or linear on global layers\)"):
        import_hf_gemma(hf, tmp_path / "ckpt")
    shutil.rmtree(hf)
    hf = edited(tmp_path, "tiny-gemma2", layer_types=["sliding_attention", "chunked_attention", "full_attention", "full_attention"])
    with pytest.raises(HFImportError, match=r"layer_types: has layer types \['chunked_attention'\] \(only sliding_attention and full_attention\)"):
        import_hf_gemma(hf, tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()


def test_an_unsupported_model_type_lists_the_supported_ones(cli, tmp_path):
    hf = edited(tmp_path, "tiny-gemma2", model_type="llama")
    code, _, err = cli("import", "hf", hf, "--out", tmp_path / "ckpt")
    assert code == 2 and err.strip() == f"error: {hf / 'config.json'}: model_type: is 'llama': supported model types are gemma, gemma2, gemma3_text, siglip_vision_model, siglip, paligemma, gemma3"


def test_an_existing_out_is_refused_and_left_alone(cli, tmp_path):
    out = tmp_path / "ckpt"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    code, _, err = cli("import", "hf", FIXTURES / "tiny-gemma2", "--out", out)
    assert code == 2 and err.strip() == f"error: {out}: --out: already exists: give a new directory (nothing was written)"
    assert [p.name for p in out.iterdir()] == ["mine.txt"]


@pytest.mark.slow
@pytest.mark.parametrize("family", ["gemma2", "gemma3_text"])
def test_fresh_random_models_match_transformers(tmp_path, family):
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    base = dict(vocab_size=128, hidden_size=48, intermediate_size=96, num_hidden_layers=5, num_attention_heads=4, num_key_value_heads=1,
                head_dim=16, max_position_embeddings=32, rms_norm_eps=1e-6, sliding_window=5, query_pre_attn_scalar=20, attn_implementation="eager")
    if family == "gemma2":
        config, cls = transformers.Gemma2Config(**base, attn_logit_softcapping=4.0, final_logit_softcapping=6.0), transformers.Gemma2ForCausalLM
    else:
        config = transformers.Gemma3TextConfig(**base, sliding_window_pattern=4, rope_theta=20000.0, rope_local_base_freq=50.0, rope_scaling={"rope_type": "linear", "factor": 2.0})
        cls = transformers.Gemma3ForCausalLM
    torch.manual_seed(1)
    model = cls(config).float().eval()
    with torch.no_grad():
        for p in model.parameters():  # norms too: HF starts them at 0, which hides a `w` vs `1 + w` bug
            torch.nn.init.normal_(p, std=0.2)
    model.save_pretrained(tmp_path / "hf")
    tokens = np.random.default_rng(2).integers(1, 128, size=(2, 17), dtype=np.int32)  # longer than the window
    ids = torch.from_numpy(tokens.astype(np.int64))
    with torch.no_grad():
        ref = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.numpy()
    got = logits(import_hf_gemma(tmp_path / "hf", tmp_path / "ckpt"), tokens)
    assert np.abs(got - ref).max() < 1e-4
