"""`pathways import hf`: any Hugging Face family this package reads, detected from config.json's `model_type`.

- `gemma`, `gemma2`, `gemma3_text`: text -> gemma_decoder -> tied lm_head (`hf_gemma`).
- `siglip_vision_model`, `siglip`: the SigLIP vision tower alone as an `image`
  pathway (`siglip`'s text tower is not imported).
- `paligemma`: image (SigLIP) -> projector (`linear_projector`) -> fusion
  (`early_fusion`, one bidirectional block over the image, positions from 1 as
  PaliGemma's) with text -> decoder -> lm_head.
- `gemma3`: image (SigLIP) -> projector (`pooling_projector`: average pooling to
  `mm_tokens_per_image`, RMSNorm, dense) -> fusion (`early_fusion`, bidirectional
  within each image) with text -> Gemma 3 decoder -> lm_head.

Vision-language checkpoints are read in both layouts transformers writes: the
current one (`model.language_model.*`, `model.vision_tower.*`, `lm_head.weight`) and
the older one of hub snapshots (`language_model.model.*`, `vision_tower.*`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pathways._errors import Problem
from pathways.interop.hf_gemma import TEXT_FAMILIES, HFImportError, gemma_config, map_weights, read_hf_config, write_import
from pathways.interop.hf_siglip import read_siglip, siglip_config

VISION_FAMILIES = ("siglip_vision_model", "siglip")
MULTIMODAL_FAMILIES = ("paligemma", "gemma3")
FAMILIES = TEXT_FAMILIES + VISION_FAMILIES + MULTIMODAL_FAMILIES
VISION_PREFIX = {"siglip_vision_model": "", "siglip": "vision_model.", "paligemma": "vision_tower.", "gemma3": "vision_tower."}
# Tensors of a full SigLIP (`siglip`) that belong to its text tower and are not imported.
SIGLIP_TEXT_TOWER = ("text_model.", "logit_scale", "logit_bias")


def _renamer(family: str):
    """Map the layouts transformers has written for `family` onto one: `language_model.*` (text model),
    `lm_head.*`, `vision_tower.*` (vision-language) or bare names (a lone SigLIP vision model)."""

    def rename(name: str) -> str:
        for old, new in (
            ("language_model.model.", "language_model."),
            ("language_model.lm_head.", "lm_head."),
            ("vision_tower.vision_model.", "vision_tower."),
        ):
            if name.startswith(old):
                return new + name.removeprefix(old)
        if family == "siglip_vision_model":
            return name.removeprefix("vision_model.")
        return name

    return rename


def _vision_config(hf: dict[str, Any], source: str) -> tuple[dict[str, Any], str]:
    """The `siglip_encoder` config of a checkpoint's vision tower, and where in config.json it sits (for errors)."""
    if hf["model_type"] == "siglip_vision_model":
        return siglip_config(hf, source), ""
    vision = hf.get("vision_config")
    if not isinstance(vision, dict):
        raise HFImportError([Problem("vision_config", "is missing: a vision model's config.json describes its vision tower there", source)])
    kind = vision.get("model_type", "siglip_vision_model")
    if kind != "siglip_vision_model":
        raise HFImportError([Problem("vision_config.model_type", f"is {kind!r}: the vision tower must be siglip_vision_model", source)])
    return siglip_config(vision, source, "vision_config."), "vision_config."


def _text_config(hf: dict[str, Any], source: str, name: str, tokenizer: bool) -> dict[str, Any]:
    text = hf.get("text_config")
    if not isinstance(text, dict):
        raise HFImportError([Problem("text_config", "is missing: a vision-language config.json describes its decoder there", source)])
    allowed = ("gemma", "gemma2") if hf["model_type"] == "paligemma" else ("gemma3_text",)
    text = dict(text)
    kind = text.setdefault("model_type", allowed[0])
    if hf["model_type"] == "paligemma":  # HF sets it to say the prefix is bidirectional; PaliGemma passes its own mask
        text.pop("use_bidirectional_attention", None)
    if kind not in allowed:
        raise HFImportError([Problem("text_config.model_type", f"is {kind!r}: a {hf['model_type']} decoder is {' or '.join(allowed)}", source)])
    try:
        return gemma_config(text, name=name, tokenizer=tokenizer, source=source)
    except HFImportError as exc:
        raise HFImportError([Problem(f"text_config.{p.where}", p.message, p.file) for p in exc.problems]) from None


def vision_language_config(hf: dict[str, Any], *, name: str, tokenizer: bool, source: str) -> dict[str, Any]:
    """The Pathways config (YAML data) of a `paligemma` or `gemma3` config.json, with its exact dimensions."""
    family = hf["model_type"]
    vision, _ = _vision_config(hf, source)
    config = _text_config(hf, source, name, tokenizer)
    text, decoder, head = (config["pathways"][n] for n in ("text", "decoder", "lm_head"))
    width = text["config"]["width"]
    size, patch = vision["image_size"][0], vision["patch"]
    patches = (size // patch) ** 2
    if family == "paligemma":
        dim = int(hf["vision_config"].get("projection_dim", width))
        if dim != width:
            raise HFImportError([Problem("vision_config.projection_dim", f"is {dim}, but the decoder's hidden_size is {width}", source)])
        window = decoder["config"].get("sliding_window")
        if window is not None and patches >= window:  # PaliGemma 2 leaves its prefix out of the window; Pathways' local layers window it
            why = f"is {window}, but the {patches} image tokens exceed it: PaliGemma 2's local layers see the whole prefix, which Pathways' windowed local layers cannot express"
            raise HFImportError([Problem("text_config.sliding_window", why, source)])
        projector = {"type": "linear_projector", "config": {"in_dim": vision["width"], "out_dim": width, "bias": True}}
        fusion_cfg = {"width": width, "prefix_attention": "joint", "first_position": 1}
    else:
        tokens = int(hf.get("mm_tokens_per_image", 256))
        projector = {
            "type": "pooling_projector",
            "config": {"in_dim": vision["width"], "out_dim": width, "input_tokens": patches, "output_tokens": tokens, "norm_eps": vision["norm_eps"]},
        }
        fusion_cfg = {"width": width, "prefix_attention": "per_prefix"}
    projector["inputs"] = {"tokens": "image.tokens"} | ({"mask": "image.mask"} if family == "paligemma" else {})
    config["description"] = f"imported from a Hugging Face {family} checkpoint"
    config["batch"]["image"] = {"shape": ["B", size, size, vision["channels"]], "dtype": "float32"}
    decoder["inputs"] = {"x": "fusion.x", "mask": "fusion.mask", "positions": "fusion.positions"}
    config["pathways"] = {
        "text": text,
        "image": {"type": "siglip_encoder", "config": vision, "inputs": {"images": "batch.image"}},
        "projector": projector,
        "fusion": {
            "type": "early_fusion",
            "config": fusion_cfg,
            "inputs": {"prefix": ["projector.tokens"], "prefix_mask": ["projector.mask"], "text": "text.embeddings", "text_mask": "text.mask"},
        },
        "decoder": decoder,
        "lm_head": head,
    }
    return config


def vision_config(hf: dict[str, Any], *, name: str, source: str) -> dict[str, Any]:
    """The Pathways config of a SigLIP (`siglip_vision_model`, or `siglip`'s vision tower) config.json."""
    vision, _ = _vision_config(hf, source)
    size = vision["image_size"][0]
    return {
        "name": name,
        "description": f"the vision tower of a Hugging Face {hf['model_type']} checkpoint",
        "dims": {"B": 1},
        "batch": {"image": {"shape": ["B", size, size, vision["channels"]], "dtype": "float32"}},
        "pathways": {"image": {"type": "siglip_encoder", "config": vision, "inputs": {"images": "batch.image"}}},
    }


def _normalisation(hf_dir: Path) -> dict[str, float]:
    """`image_mean`/`image_std` from the checkpoint's `preprocessor_config.json`, if it has one (SigLIP: 0.5, 0.5)."""
    import json

    file = hf_dir / "preprocessor_config.json"
    if not file.is_file():
        return {}
    processor = json.loads(file.read_text())
    out = {}
    for key in ("image_mean", "image_std"):
        values = processor.get(key)
        if values is None:
            continue
        values = values if isinstance(values, list) else [values]
        if len(set(values)) != 1:
            raise HFImportError([Problem(key, f"is {values}: per-channel normalisation is not supported (one value for all channels)", str(file))])
        out[key] = float(values[0])
    return out


def _read_projector(family: str, tensors, shapes, problems: list[Problem]) -> dict:
    out = {}
    if family == "paligemma":
        import numpy as np

        w = shapes["projector.proj.weight"]
        value = tensors.fetch("multi_modal_projector.linear.weight", "projector.proj.weight", w, problems, np.transpose, w[::-1])
        bias = tensors.fetch("multi_modal_projector.linear.bias", "projector.proj.bias", shapes["projector.proj.bias"], problems)
        out |= {"projector.proj.weight": value, "projector.proj.bias": bias}
    else:  # gemma3 stores its projection [in, out], as Pathways does
        out["projector.proj.weight"] = tensors.fetch("multi_modal_projector.mm_input_projection_weight", "projector.proj.weight", shapes["projector.proj.weight"], problems)
        out["projector.norm.weight"] = tensors.fetch("multi_modal_projector.mm_soft_emb_norm.weight", "projector.norm.weight", shapes["projector.norm.weight"], problems)
    return out


def import_hf(hf_dir: str | Path, out_dir: str | Path, *, target: str | Path | None = None, dtype: str = "float32") -> Path:
    """Convert the Hugging Face checkpoint `hf_dir` (any of `FAMILIES`) into the Pathways checkpoint `out_dir`.

    With `target` (a Pathways config), every parameter's shape is checked against
    that config's model first. `dtype`: `float32` widens every weight (bfloat16 or
    float16 included) to float32, `keep` stores them as the checkpoint does. `out_dir`
    must not exist; a failed import leaves nothing there. Returns `out_dir`.
    """
    hf_dir = Path(hf_dir)
    if dtype not in ("float32", "keep"):
        raise HFImportError([Problem("--dtype", f"is {dtype!r}: float32 (widen every weight) or keep (as stored)")])
    if Path(out_dir).exists():
        raise HFImportError([Problem("--out", "already exists: give a new directory (nothing was written)", str(out_dir))])
    hf = read_hf_config(hf_dir, FAMILIES)
    family, source, name = hf["model_type"], str(hf_dir / "config.json"), hf_dir.resolve().name
    tokenizer = (hf_dir / "tokenizer.model").is_file()
    if family in TEXT_FAMILIES:
        config = gemma_config(hf, name=name, tokenizer=tokenizer, source=source)
        return write_import(hf_dir, out_dir, hf, config, lambda tensors, shapes: map_weights(hf, tensors, shapes), target=target, dtype=dtype)
    if family in VISION_FAMILIES:
        config = vision_config(hf, name=name, source=source)
    else:
        config = vision_language_config(hf, name=name, tokenizer=tokenizer, source=source)
    vision = config["pathways"]["image"]["config"]
    vision |= _normalisation(hf_dir)
    text_hf = {"model_type": "gemma" if family == "paligemma" else "gemma3_text", **(hf.get("text_config") or {})}

    def read(tensors, shapes):
        problems: list[Problem] = []
        params = {}
        for part in _parts(family):
            try:
                if part == "image":
                    params |= read_siglip(vision, tensors, shapes, prefix=VISION_PREFIX[family])
                elif part == "text":
                    params |= map_weights(text_hf, tensors, shapes, prefix="language_model.", whole=False)
                else:
                    params |= _read_projector(family, tensors, shapes, problems)
            except HFImportError as exc:
                problems += exc.problems
        skipped = SIGLIP_TEXT_TOWER if family == "siglip" else ("lm_head.weight",)
        problems += [Problem(n, f"is not a {family} weight this import knows (left unused)") for n in tensors.unused(skipped)]
        if problems:
            raise HFImportError(problems)
        return params

    extra = {"image_token_id": hf.get("image_token_id", hf.get("image_token_index"))} if family in MULTIMODAL_FAMILIES else None
    return write_import(hf_dir, out_dir, hf, config, read, target=target, rename=_renamer(family), imported=extra, dtype=dtype)


def _parts(family: str) -> tuple[str, ...]:
    return ("image",) if family in VISION_FAMILIES else ("image", "projector", "text")
