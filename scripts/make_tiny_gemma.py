"""Generate tests/interop/fixtures/tiny-gemma{,2,3}/: tiny random HF Gemma 1, 2 and 3 text models
and their reference logits.

    .venv/bin/pip install -e '.[reference]'     # torch (CPU) and transformers
    .venv/bin/python scripts/make_tiny_gemma.py

Builds a `transformers.GemmaForCausalLM` with small, deliberately uneven
dimensions (grouped-query attention with 2 key/value heads for 4 query heads,
`heads * head_dim` != `hidden_size`, a non-default RoPE base and norm epsilon)
and draws EVERY parameter from a normal distribution, norm weights included:
HF initialises those to zero, which would hide a `x * w` vs `x * (1 + w)` bug.
Gemma 2 and 3 (`tiny-gemma2`, `tiny-gemma3`) add every option their families have:
local (sliding-window 4) and global layers in the family's pattern (Gemma 3's at period 3,
so that 4 layers hold both kinds and a partial period), attention- and final-logit
soft-capping (Gemma 2), QK-norm, `query_pre_attn_scalar` != head_dim, separate local and
global RoPE bases and linear RoPE scaling on global layers (Gemma 3); the 12-token inputs
are longer than the window, so local and global layers differ.
It writes each model with `save_pretrained` (config.json, model.safetensors,
generation_config.json; about 140 KB in float32), plus `tokens.npy` and the
float32 `logits.npy` of that model on them (eval mode, attention mask all ones,
no token is the pad id 0). The files are committed so that the import test
(tests/interop/test_hf_gemma.py) runs without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import Gemma2Config, Gemma2ForCausalLM, Gemma3ForCausalLM, Gemma3TextConfig, GemmaConfig, GemmaForCausalLM

FIXTURES = Path(__file__).resolve().parents[1] / "tests/interop/fixtures"
CONFIG = dict(
    vocab_size=256,
    hidden_size=32,
    intermediate_size=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=64,
    rms_norm_eps=1e-5,
    rope_theta=500.0,
    hidden_act="gelu_pytorch_tanh",
)
NEWER = dict(CONFIG, num_hidden_layers=4, sliding_window=4, query_pre_attn_scalar=24)
NEWER.pop("hidden_act")
FAMILIES = {
    "tiny-gemma": (GemmaConfig, GemmaForCausalLM, CONFIG),
    "tiny-gemma2": (Gemma2Config, Gemma2ForCausalLM, dict(NEWER, attn_logit_softcapping=5.0, final_logit_softcapping=3.0)),
    "tiny-gemma3": (
        Gemma3TextConfig,
        Gemma3ForCausalLM,
        dict(NEWER, rope_theta=5000.0, rope_local_base_freq=100.0, sliding_window_pattern=3, rope_scaling={"rope_type": "linear", "factor": 4.0}),
    ),
}
STD = 0.2  # logits of order 1-10: large enough to see a convention bug, small enough for float32 to agree to 1e-4


def random_gemma(config: dict, *, seed: int, family: str = "tiny-gemma"):
    """A float32 Gemma*ForCausalLM of `family` in eval mode with every parameter drawn from N(0, STD^2)."""
    config_cls, model_cls, _ = FAMILIES[family]
    torch.manual_seed(seed)
    model = model_cls(config_cls(**config, attn_implementation="eager")).float().eval()
    with torch.no_grad():
        for p in model.parameters():
            torch.nn.init.normal_(p, std=STD)
    return model


def reference_logits(model: GemmaForCausalLM, tokens: np.ndarray) -> np.ndarray:
    """`[B, T, V]` float32 logits of `tokens [B, T]` with every position attended."""
    ids = torch.from_numpy(tokens.astype(np.int64))
    with torch.no_grad():
        return model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits.float().numpy()


def main() -> None:
    for family, (_, _, config) in FAMILIES.items():
        out = FIXTURES / family
        model = random_gemma(config, seed=0, family=family)
        tokens = np.random.default_rng(0).integers(1, config["vocab_size"], size=(2, 12), dtype=np.int32)  # no pad (0)
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(out)
        np.save(out / "tokens.npy", tokens)
        np.save(out / "logits.npy", reference_logits(model, tokens))
        for f in sorted(out.iterdir()):
            print(f"{f.stat().st_size:>8}  {f}")


if __name__ == "__main__":
    main()
