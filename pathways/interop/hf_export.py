"""Export a Pathways checkpoint as a Hugging Face directory `from_pretrained` loads.

The reverse of `pathways import hf`, for the graphs it writes:

- `token_embedding -> gemma_decoder -> tied lm_head` becomes the text family its options
  call for (`gemma3_text` with QK-norm, `gemma2` with post-branch norms, else `gemma`);
- a lone `siglip_encoder` named `image` becomes `siglip_vision_model`;
- text + `siglip_encoder` image + projector + `early_fusion` + decoder + lm_head becomes
  `paligemma` (a `linear_projector`, joint prefix, positions from 1) or `gemma3` (a
  `pooling_projector`, per-image blocks, a Gemma 3 decoder).

`model.safetensors` (or shards with an index, past `--max-shard-size`) holds HF's names and layouts (those `save_pretrained` writes: Linear
weights transposed back to `[out, in]`, layers unstacked), with the SentencePiece
`tokenizer.model` when the checkpoint has one. An adapter checkpoint is merged first.
The directory is built aside and renamed into place.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from pathways._errors import Problem
from pathways.interop.hf_gemma import FAMILY_WEIGHTS, HFImportError
from pathways.interop.hf_siglip import siglip_hf_config, siglip_tensors

ARCHITECTURES = {
    "gemma": "GemmaForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
    "gemma3_text": "Gemma3ForCausalLM",
    "siglip_vision_model": "SiglipVisionModel",
    "paligemma": "PaliGemmaForConditionalGeneration",
    "gemma3": "Gemma3ForConditionalGeneration",
}
# The pathways (name -> types) of each vision graph the export writes, beyond text -> decoder -> lm_head.
VISION_LANGUAGE = {"image": ("siglip_encoder",), "projector": ("linear_projector", "pooling_projector"), "fusion": ("early_fusion",)}


class HFExportError(HFImportError):
    """A checkpoint that cannot be written as a Hugging Face model: another graph shape, or options HF lacks."""


def _text_graph(config: dict[str, Any], where: str) -> tuple[dict, dict, dict]:
    """The (text, decoder, lm_head) configs of a Gemma text or vision-language graph; an error naming what does not fit."""
    pathways = config.get("pathways") or {}
    types = {name: p.get("type") for name, p in pathways.items()}
    wanted = {"text": "token_embedding", "decoder": "gemma_decoder", "lm_head": "lm_head"}
    vision = "image" in pathways or "projector" in pathways or "fusion" in pathways
    problems = [Problem(f"pathways.{n}", f"is {types.get(n)!r}; a Hugging Face Gemma export needs {t!r} here", where) for n, t in wanted.items() if types.get(n) != t]
    if vision:
        problems += [
            Problem(f"pathways.{n}", f"is {types.get(n)!r}; a Hugging Face vision-language export needs {' or '.join(map(repr, ts))} here", where)
            for n, ts in VISION_LANGUAGE.items()
            if types.get(n) not in ts
        ]
    known = set(wanted) | (set(VISION_LANGUAGE) if vision else set())
    why = "has no Hugging Face counterpart: text -> decoder -> lm_head graphs export, with image (siglip_encoder), projector and fusion for PaliGemma and Gemma 3"
    problems += [Problem(f"pathways.{n}", why, where) for n in pathways if n not in known]
    if problems:
        raise HFExportError(problems)
    text, decoder, head = (pathways[n]["config"] for n in ("text", "decoder", "lm_head"))
    if not head.get("tied"):
        problems.append(Problem("pathways.lm_head.config.tied", "is false: Gemma ties the LM head to the embedding", where))
    if decoder.get("cross_attention_every"):
        problems.append(Problem("pathways.decoder.config.cross_attention_every", "is set: Gemma has no cross-attention", where))
    if decoder.get("qk_norm") and not decoder.get("post_norms"):
        problems.append(Problem("pathways.decoder.config.qk_norm", "without post_norms: no Gemma family has QK-norm but not post-branch norms", where))
    if problems:
        raise HFExportError(problems)
    return text, decoder, head


def hf_config(config: dict[str, Any], where: str = "config.yaml", imported: dict | None = None) -> dict[str, Any]:
    """The `config.json` of a Pathways config (as `resolved_yaml` gives it) of a graph the export writes.

    `imported`: the checkpoint's `imported_from` record (a vision-language model's image token id).
    """
    pathways = config.get("pathways") or {}
    if set(pathways) == {"image"} and pathways["image"].get("type") == "siglip_encoder":
        return {"architectures": [ARCHITECTURES["siglip_vision_model"]], **siglip_hf_config(pathways["image"]["config"]), "dtype": "float32"}
    text_config = _text_hf_config(config, where)
    if "image" not in pathways:
        return text_config
    return _vision_language_config(config, text_config, where, imported or {})


def _vision_language_config(config: dict[str, Any], text: dict[str, Any], where: str, imported: dict) -> dict[str, Any]:
    p = config["pathways"]
    projector, fusion, width = p["projector"], p["fusion"]["config"], text["hidden_size"]
    family = "paligemma" if projector["type"] == "linear_projector" else "gemma3"
    want = {"paligemma": ("joint", 1, ("gemma", "gemma2")), "gemma3": ("per_prefix", 0, ("gemma3_text",))}[family]
    problems = []
    if (fusion.get("prefix_attention", "joint"), fusion.get("first_position", 0)) != want[:2]:
        problems.append(Problem("pathways.fusion.config", f"{family} needs prefix_attention {want[0]!r} and first_position {want[1]}", where))
    if text["model_type"] not in want[2]:
        problems.append(Problem("pathways.decoder.config", f"is a {text['model_type']} decoder; a {family} decoder is {' or '.join(want[2])}", where))
    image = p["image"]["config"]
    patches = (image["image_size"][0] // image.get("patch", 14)) * (image["image_size"][1] // image.get("patch", 14))
    window = text.get("sliding_window") if "layer_types" in text else None
    if family == "paligemma" and window is not None and patches >= window:  # HF's PaliGemma 2 leaves the prefix unwindowed
        problems.append(Problem("pathways.decoder.config.sliding_window", f"is {window}, but the {patches} image tokens exceed it: PaliGemma 2 would attend to them unwindowed", where))
    if projector["type"] == "linear_projector" and not projector["config"].get("bias", True):
        problems.append(Problem("pathways.projector.config.bias", "is false: PaliGemma's projector has a bias", where))
    if problems:
        raise HFExportError(problems)
    text.pop("architectures")
    vision = siglip_hf_config(p["image"]["config"], projection_dim=width if family == "paligemma" else None)
    image_token = imported.get("image_token_id")
    out: dict[str, Any] = {"architectures": [ARCHITECTURES[family]], "model_type": family, "text_config": text, "vision_config": vision}
    out["image_token_index"] = text["vocab_size"] if image_token is None else image_token  # out of the vocabulary: never a text token
    if family == "paligemma":
        out["projection_dim"] = width
    else:
        out["mm_tokens_per_image"] = projector["config"]["output_tokens"]
    return out | {"tie_word_embeddings": True, "dtype": "float32"}


def _text_hf_config(config: dict[str, Any], where: str) -> dict[str, Any]:
    text, dec, head = _text_graph(config, where)
    family = "gemma3_text" if dec.get("qk_norm") else "gemma2" if dec.get("post_norms") else "gemma"
    problems = []
    if family == "gemma" and (dec.get("attention_pattern") or dec.get("attn_logit_softcap") or head.get("softcap") or dec.get("query_pre_attn_scalar")):
        problems.append(Problem("pathways.decoder.config", "Gemma 2/3 options without post_norms: no Hugging Face family matches", where))
    if family != "gemma3_text" and (dec.get("rope_local_base") or dec.get("rope_global_scaling", 1.0) != 1.0):
        problems.append(Problem("pathways.decoder.config.rope_local_base", "separate or scaled RoPE is Gemma 3's, which also has qk_norm", where))
    if problems:
        raise HFExportError(problems)
    depth = dec["depth"]
    out: dict[str, Any] = {
        "architectures": [ARCHITECTURES[family]],
        "model_type": family,
        "vocab_size": text["vocab_size"],
        "hidden_size": dec["width"],
        "intermediate_size": dec["mlp_dim"],
        "num_hidden_layers": depth,
        "num_attention_heads": dec["heads"],
        "num_key_value_heads": dec.get("kv_heads", 1),
        "head_dim": dec.get("head_dim", 256),
        "rms_norm_eps": dec.get("norm_eps", 1e-6),
        "max_position_embeddings": (config.get("dims") or {}).get("T", 8192),
        "pad_token_id": text.get("pad_id", 0),
        "tie_word_embeddings": True,
        "attention_bias": False,
        ("hidden_act" if family == "gemma" else "hidden_activation"): "gelu_pytorch_tanh",
        "dtype": "float32",
    }
    base = dec.get("rope_base", 10_000.0)
    if family == "gemma":
        out["rope_parameters"] = {"rope_theta": base, "rope_type": "default"}
        return out
    pattern = dec.get("attention_pattern") or ["global"]
    kinds = [pattern[i % len(pattern)] for i in range(depth)]
    out["layer_types"] = ["sliding_attention" if k == "local" else "full_attention" for k in kinds]
    if dec.get("sliding_window") is not None:
        out["sliding_window"] = dec["sliding_window"]
    scalar = float(dec.get("query_pre_attn_scalar") or out["head_dim"])
    out["query_pre_attn_scalar"] = int(scalar) if scalar.is_integer() else scalar  # transformers' field is an int
    out["attn_logit_softcapping"] = dec.get("attn_logit_softcap")
    out["final_logit_softcapping"] = head.get("softcap")
    if family == "gemma2":
        out["rope_parameters"] = {"rope_theta": base, "rope_type": "default"}
    else:
        scale = dec.get("rope_global_scaling", 1.0)
        full = {"rope_theta": base, "rope_type": "linear", "factor": scale} if scale != 1.0 else {"rope_theta": base, "rope_type": "default"}
        out["rope_parameters"] = {"full_attention": full, "sliding_attention": {"rope_theta": dec.get("rope_local_base") or base, "rope_type": "default"}}
    return out


def hf_tensors(params: dict[str, np.ndarray], family: str, depth: int, prefix: str = "model.") -> dict[str, np.ndarray]:
    """HF's text-model tensors (names under `prefix`, `[out, in]` Linear weights, one tensor per layer) from Pathways parameters."""
    out = {f"{prefix}embed_tokens.weight": params["text.weight"], f"{prefix}norm.weight": params["decoder.final_norm.weight"]}
    for hf_name, (ours, transpose) in FAMILY_WEIGHTS[family].items():
        stacked = params[f"decoder.blocks.layers.{ours}"]
        for i in range(depth):
            value = np.swapaxes(stacked[i], -1, -2) if transpose else stacked[i]
            out[f"{prefix}layers.{i}.{hf_name}"] = np.ascontiguousarray(value)
    return out


def export_tensors(config: dict[str, Any], hf: dict[str, Any], params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every HF tensor of the model `hf` (a `hf_config` result), named as `save_pretrained` writes them."""
    family, p = hf["model_type"], config["pathways"]
    if family == "siglip_vision_model":
        return siglip_tensors(p["image"]["config"], params, prefix="")
    if family not in ("paligemma", "gemma3"):
        return hf_tensors(params, family, hf["num_hidden_layers"])
    text = hf["text_config"]
    out = hf_tensors(params, text["model_type"], text["num_hidden_layers"], prefix="language_model.model.")
    out |= siglip_tensors(p["image"]["config"], params, prefix="vision_tower.")
    if family == "paligemma":
        out["multi_modal_projector.linear.weight"] = np.ascontiguousarray(params["projector.proj.weight"].T)
        out["multi_modal_projector.linear.bias"] = params["projector.proj.bias"]
    else:
        out["multi_modal_projector.mm_input_projection_weight"] = params["projector.proj.weight"]
        out["multi_modal_projector.mm_soft_emb_norm.weight"] = params["projector.norm.weight"]
    return out


def shards(tensors: dict[str, np.ndarray], max_bytes: int) -> list[dict[str, np.ndarray]]:
    """`tensors` in name order, cut into groups of at most `max_bytes` each (a larger tensor alone in its group)."""
    groups: list[dict[str, np.ndarray]] = [{}]
    size = 0
    for name in sorted(tensors):
        n = tensors[name].nbytes
        if groups[-1] and size + n > max_bytes:
            groups.append({})
            size = 0
        groups[-1][name] = tensors[name]
        size += n
    return groups


def write_shards(tensors: dict[str, np.ndarray], folder: Path, max_bytes: int) -> list[str]:
    """`model.safetensors`, or (above `max_bytes`) `model-0000i-of-0000n.safetensors` shards and their index, as HF writes them."""
    from pathways.train import save_tensors

    groups = shards(tensors, max_bytes)
    if len(groups) == 1:
        save_tensors(tensors, folder / "model.safetensors", metadata={"format": "pt"})
        return ["model.safetensors"]
    names = [f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors" for i in range(len(groups))]
    weight_map = {}
    for name, group in zip(names, groups):
        save_tensors(group, folder / name, metadata={"format": "pt"})
        weight_map |= dict.fromkeys(group, name)
    index = {"metadata": {"total_size": sum(t.nbytes for t in tensors.values())}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    return names


def export_hf(checkpoint: str | Path, out_dir: str | Path, *, max_shard_bytes: int = 5 * 10**9) -> Path:
    """Write the checkpoint (or run directory) `checkpoint` as the Hugging Face directory `out_dir` (which must not exist).

    Weights above `max_shard_bytes` are split into shards with an index, as `save_pretrained` does.
    """
    import equinox as eqx

    from pathways.train import checkpoint_adapter, load_trained, model_params

    out_dir = Path(out_dir)
    if out_dir.exists():
        raise HFExportError([Problem("--out", "already exists: give a new directory (nothing was written)", str(out_dir))])
    model, c = load_trained(checkpoint)
    where = str(c.path / "config.yaml")
    config = hf_config(c.config, where, c.state.imported_from)
    if c.state.adapter:  # merged first: HF has no adapters of ours
        adapter, _ = checkpoint_adapter(c)
        names = list(c.state.adapter["pathways"])
        model = eqx.tree_at(lambda m: [m.pathways[n] for n in names], model, [adapter.merge(model.pathways[n]) for n in names])
    tensors = export_tensors(c.config, config, model_params(model))
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        write_shards(tensors, tmp, max_shard_bytes)
        (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n")
        if (c.path / "tokenizer.model").is_file():
            shutil.copyfile(c.path / "tokenizer.model", tmp / "tokenizer.model")
        os.rename(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
