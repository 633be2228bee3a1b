"""Generate tests/interop/fixtures/tiny-gemma/: a tiny random HF Gemma and its reference logits.

    .venv/bin/pip install -e '.[reference]'     # torch (CPU) and transformers
    .venv/bin/python scripts/make_tiny_gemma.py

Builds a `transformers.GemmaForCausalLM` with small, deliberately uneven
dimensions (grouped-query attention with 2 key/value heads for 4 query heads,
`heads * head_dim` != `hidden_size`, a non-default RoPE base and norm epsilon)
and draws EVERY parameter from a normal distribution, norm weights included:
HF initialises those to zero, which would hide a `x * w` vs `x * (1 + w)` bug.
It writes the model with `save_pretrained` (config.json, model.safetensors,
generation_config.json; about 140 KB in float32), plus `tokens.npy` and the
float32 `logits.npy` of that model on them (eval mode, attention mask all ones,
no token is the pad id 0). The files are committed so that the import test
(tests/interop/test_hf_gemma.py) runs without torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import GemmaConfig, GemmaForCausalLM

OUT = Path(__file__).resolve().parents[1] / "tests/interop/fixtures/tiny-gemma"
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
STD = 0.2  # logits of order 1-10: large enough to see a convention bug, small enough for float32 to agree to 1e-4


def random_gemma(config: dict, *, seed: int) -> GemmaForCausalLM:
    """A float32 GemmaForCausalLM in eval mode with every parameter drawn from N(0, STD^2)."""
    torch.manual_seed(seed)
    model = GemmaForCausalLM(GemmaConfig(**config, attn_implementation="eager")).float().eval()
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
    model = random_gemma(CONFIG, seed=0)
    tokens = np.random.default_rng(0).integers(1, CONFIG["vocab_size"], size=(2, 12), dtype=np.int32)  # no pad (0)
    OUT.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(OUT)
    np.save(OUT / "tokens.npy", tokens)
    np.save(OUT / "logits.npy", reference_logits(model, tokens))
    for f in sorted(OUT.iterdir()):
        print(f"{f.stat().st_size:>8}  {f}")


if __name__ == "__main__":
    main()
