"""Generate tests/interop/fixtures/tiny-{siglip,paligemma,gemma3-vision}/: tiny random HF SigLIP,
PaliGemma and Gemma 3 (vision-language) models and their reference outputs.

    .venv/bin/pip install -e '.[reference]'     # torch (CPU) and transformers
    .venv/bin/python scripts/make_tiny_vision.py

Every parameter is drawn from N(0, 0.2^2), LayerNorm and RMSNorm weights
included (HF initialises those to 1 or 0, which would hide a convention bug).
Images are 16x16 with 4x4 patches: 16 patches per image.

- tiny-siglip: a `SiglipVisionModel` with the attention-pooling head;
  `hidden.npy` (last hidden state) and `pooled.npy` for `pixels.npy`.
- tiny-paligemma: `PaliGemmaForConditionalGeneration` (SigLIP without head, linear
  projector, a Gemma decoder); the input is 16 image tokens then 8 text tokens,
  `token_type_ids` 0 over the image and the first `PROMPT` text tokens (the
  prefix-LM's bidirectional prompt), 1 over the rest. `logits.npy`: all positions.
- tiny-gemma3-vision: `Gemma3ForConditionalGeneration` (SigLIP, pooling projector
  16 -> 4 tokens, a Gemma 3 decoder with local layers of window 4, shorter than the
  4 + 8 sequence); `token_type_ids` 1 over the image tokens.

Each is written with `save_pretrained`, plus `tokens.npy` (text), `pixels.npy`
(`[B, H, W, 3]`, channels last as Pathways takes them) and the float32 outputs.
The files are committed, so tests/interop/test_hf_vision.py runs without torch.

It also writes the stand-ins for hub downloads that the recipes start from
(examples/pretrained/, HF layout, random weights, 64x64 images and the 259-token
byte vocabulary of `tokenizer: bytes`, so easy-VQA trains them as they are):
`tiny-paligemma` (PaliGemma), `tiny-siglip` (a SigLIP vision tower) and
`tiny-gemma` (a Gemma decoder), the last two joined LLaVA-style by
examples/llava_grow.yaml.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from transformers import (
    Gemma3Config,
    Gemma3ForConditionalGeneration,
    PaliGemmaConfig,
    PaliGemmaForConditionalGeneration,
    SiglipVisionConfig,
    SiglipVisionModel,
)

FIXTURES = Path(__file__).resolve().parents[1] / "tests/interop/fixtures"
PRETRAINED = Path(__file__).resolve().parents[1] / "examples/pretrained"
STD = 0.2
PROMPT = 3  # text tokens in PaliGemma's bidirectional prefix
VISION = dict(hidden_size=24, intermediate_size=40, num_hidden_layers=2, num_attention_heads=2, image_size=16, patch_size=4, layer_norm_eps=1e-5)
TEXT = dict(vocab_size=256, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5)


def randomise(model, seed: int):
    torch.manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            torch.nn.init.normal_(p, std=STD)
    return model.float().eval()


def save(model, name: str, root: Path = FIXTURES, **arrays) -> None:
    out = root / name
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    for key, value in arrays.items():
        np.save(out / f"{key}.npy", value)
    for f in sorted(out.iterdir()):
        print(f"{f.stat().st_size:>8}  {f}")


def main() -> None:
    rng = np.random.default_rng(0)
    pixels = rng.uniform(-1, 1, size=(2, 16, 16, 3)).astype(np.float32)
    pixel_values = torch.from_numpy(pixels.transpose(0, 3, 1, 2).copy())  # HF: [B, 3, H, W]
    tokens = rng.integers(1, 250, size=(2, 8), dtype=np.int32)  # no pad (0), no image token (255)

    siglip = randomise(SiglipVisionModel(SiglipVisionConfig(**VISION, vision_use_head=True, attn_implementation="eager")), 0)
    with torch.no_grad():
        out = siglip(pixel_values=pixel_values)
    save(siglip, "tiny-siglip", pixels=pixels, hidden=out.last_hidden_state.numpy(), pooled=out.pooler_output.numpy())

    for name, cls, config, image_tokens, prompt in (
        (
            "tiny-paligemma",
            PaliGemmaForConditionalGeneration,
            PaliGemmaConfig(
                vision_config=dict(VISION, vision_use_head=False, projection_dim=32),
                text_config=dict(TEXT, model_type="gemma", hidden_act="gelu_pytorch_tanh", rope_theta=500.0),
                projection_dim=32,
                image_token_index=255,
            ),
            16,
            PROMPT,
        ),
        (
            "tiny-gemma3-vision",
            Gemma3ForConditionalGeneration,
            Gemma3Config(
                vision_config=dict(VISION, vision_use_head=False),
                text_config=dict(
                    TEXT, num_hidden_layers=3, sliding_window=4, query_pre_attn_scalar=24, rope_theta=5000.0,
                    rope_local_base_freq=100.0, sliding_window_pattern=3, rope_scaling={"rope_type": "linear", "factor": 4.0},
                ),
                mm_tokens_per_image=4,
                image_token_index=255,
                boi_token_index=254,
                eoi_token_index=253,
            ),
            4,
            0,
        ),
    ):
        config._attn_implementation = "eager"
        model = randomise(cls(config), 0)
        ids = np.concatenate([np.full((2, image_tokens), 255, np.int64), tokens], axis=1)
        if name == "tiny-paligemma":  # 0: bidirectional prefix (image and prompt), 1: the causal rest
            types = np.concatenate([np.zeros((2, image_tokens + prompt)), np.ones((2, 8 - prompt))], axis=1)
        else:  # Gemma 3: 1 marks image tokens, attended bidirectionally within each image
            types = np.concatenate([np.ones((2, image_tokens)), np.zeros((2, 8))], axis=1)
        with torch.no_grad():
            logits = model(
                input_ids=torch.from_numpy(ids),
                pixel_values=pixel_values,
                attention_mask=torch.ones(ids.shape, dtype=torch.long),
                token_type_ids=torch.from_numpy(types.astype(np.int64)),
            ).logits.float().numpy()
        save(model, name, pixels=pixels, tokens=tokens, logits=logits)
    examples()


def examples() -> None:
    """The recipes' stand-ins for pretrained checkpoints (examples/pretrained/)."""
    from transformers import GemmaConfig, GemmaForCausalLM

    vision = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=64, patch_size=16, vision_use_head=False)
    text = dict(vocab_size=259, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=1, head_dim=16)
    paligemma = PaliGemmaConfig(
        vision_config=dict(vision, projection_dim=64), text_config=dict(text, model_type="gemma", hidden_act="gelu_pytorch_tanh"),
        projection_dim=64, image_token_index=259,
    )
    save(randomise(PaliGemmaForConditionalGeneration(paligemma), 1), "tiny-paligemma", PRETRAINED)
    save(randomise(SiglipVisionModel(SiglipVisionConfig(**vision)), 2), "tiny-siglip", PRETRAINED)
    save(randomise(GemmaForCausalLM(GemmaConfig(**text, hidden_act="gelu_pytorch_tanh")), 3), "tiny-gemma", PRETRAINED)


if __name__ == "__main__":
    main()
