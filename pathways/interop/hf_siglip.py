"""The SigLIP vision tower both ways: Hugging Face `SiglipVisionConfig` and tensors <-> `siglip_encoder`.

Used alone (`model_type` `siglip_vision_model`, or `siglip` whose text tower is
left out) and inside PaliGemma and Gemma 3 (their `vision_tower`). Layouts that
differ: HF `nn.Linear` weights are `[out, in]` (Pathways' `[in, out]`); the patch
convolution `[D, C, p, p]` is Pathways' dense layer over `(row, col, channel)`
patch pixels, `[p*p*C, D]`; the pooling head's `nn.MultiheadAttention` keeps
queries, keys and values in one `in_proj` tensor; layers are stacked on axis 0.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from pathways._errors import Problem
from pathways.interop.hf_gemma import TANH_GELU, HFImportError, Tensors

# Per-layer HF tensor (under `encoder.layers.{i}.`) -> Pathways parameter (under `blocks.layers.`), transposed?
LAYER_WEIGHTS: dict[str, tuple[str, bool]] = {
    "layer_norm1.weight": ("norm1.weight", False),
    "layer_norm1.bias": ("norm1.bias", False),
    "layer_norm2.weight": ("norm2.weight", False),
    "layer_norm2.bias": ("norm2.bias", False),
    **{f"self_attn.{p}_proj.{w}": (f"attn.{o}_proj.{w}", w == "weight") for p, o in (("q", "q"), ("k", "k"), ("v", "v"), ("out", "o")) for w in ("weight", "bias")},
    **{f"mlp.{fc}.{w}": (f"mlp.{fc}.{w}", w == "weight") for fc in ("fc1", "fc2") for w in ("weight", "bias")},
}
# Pooling-head tensors (under `head.`) other than the probe and the packed in_proj.
HEAD_WEIGHTS: dict[str, tuple[str, bool]] = {
    "attention.out_proj.weight": ("attn.o_proj.weight", True),
    "attention.out_proj.bias": ("attn.o_proj.bias", False),
    "layernorm.weight": ("norm.weight", False),
    "layernorm.bias": ("norm.bias", False),
    **{f"mlp.{fc}.{w}": (f"mlp.{fc}.{w}", w == "weight") for fc in ("fc1", "fc2") for w in ("weight", "bias")},
}


def siglip_config(v: dict[str, Any], source: str, where: str = "") -> dict[str, Any]:
    """The `siglip_encoder` config of a HF SigLIP vision config (`where`: its key in config.json, for errors)."""
    problems = []
    act = v.get("hidden_act", "gelu_pytorch_tanh")
    if act not in TANH_GELU:
        problems.append(Problem(f"{where}hidden_act", f"is {act!r}: the SigLIP encoder uses tanh-approximated GELU ({' or '.join(TANH_GELU)})", source))
    width, heads = int(v.get("hidden_size", 768)), int(v.get("num_attention_heads", 12))
    if width % heads:
        problems.append(Problem(f"{where}num_attention_heads", f"{heads} does not divide hidden_size {width}", source))
    size, patch = int(v.get("image_size", 224)), int(v.get("patch_size", 16))
    if size % patch:
        problems.append(Problem(f"{where}image_size", f"{size} is not a multiple of patch_size {patch}", source))
    if problems:
        raise HFImportError(problems)
    return {
        "image_size": [size, size],
        "channels": int(v.get("num_channels", 3)),
        "patch": patch,
        "width": width,
        "depth": int(v.get("num_hidden_layers", 12)),
        "heads": heads,
        "mlp_dim": int(v.get("intermediate_size", 3072)),
        "norm_eps": float(v.get("layer_norm_eps", 1e-6)),
        "attention_pool": bool(v.get("vision_use_head", True)),
    }


def _patch_to_ours(w: np.ndarray) -> np.ndarray:
    """Conv2d weight `[D, C, p, p]` -> dense `[p*p*C, D]` over `(row, col, channel)`."""
    return w.transpose(2, 3, 1, 0).reshape(-1, w.shape[0])


def _patch_to_hf(w: np.ndarray, patch: int, channels: int) -> np.ndarray:
    return w.reshape(patch, patch, channels, -1).transpose(3, 2, 0, 1)


def read_siglip(cfg: dict[str, Any], tensors: Tensors, shapes: dict[str, tuple[int, ...]], *, prefix: str, pathway: str = "image") -> dict[str, np.ndarray]:
    """Parameters of pathway `pathway` (a `siglip_encoder` with config `cfg`) from the HF tensors under `prefix`."""
    problems: list[Problem] = []
    out: dict[str, np.ndarray] = {}
    p, C, D = cfg["patch"], cfg["channels"], cfg["width"]
    n = (cfg["image_size"][0] // p) * (cfg["image_size"][1] // p)

    def one(hf_name: str, ours: str, to_ours: Callable | None = None, hf_shape=None) -> np.ndarray | None:
        param = f"{pathway}.{ours}"
        value = tensors.fetch(prefix + hf_name, param, shapes[param], problems, to_ours, hf_shape)
        if value is not None:
            out[param] = value
        return value

    pos_name = prefix + "embeddings.position_embedding.weight"
    if pos_name in tensors and tensors.shape(pos_name)[0] != n:
        size = cfg["image_size"][0]
        problems.append(Problem(pos_name, f"has {tensors.shape(pos_name)[0]} positions, but image_size {size} / patch_size {p} makes {n} patches"))
    else:
        one("embeddings.position_embedding.weight", "position")
    one("embeddings.patch_embedding.weight", "patch_embed.weight", _patch_to_ours, (D, C, p, p))
    one("embeddings.patch_embedding.bias", "patch_embed.bias")
    one("post_layernorm.weight", "post_norm.weight")
    one("post_layernorm.bias", "post_norm.bias")
    for hf_name, (ours, transpose) in LAYER_WEIGHTS.items():
        param, first = f"{pathway}.blocks.layers.{ours}", f"{prefix}encoder.layers.0.{hf_name}"
        stacked = np.empty(shapes[param], dtype=tensors.dtype(first) if first in tensors else np.float32)
        want = shapes[param][1:]
        for i in range(cfg["depth"]):
            name = f"{prefix}encoder.layers.{i}.{hf_name}"
            value = tensors.fetch(name, param, want, problems, np.transpose if transpose else None, want[::-1] if transpose else want)
            if value is not None and value.dtype != stacked.dtype:  # only with dtype="keep"
                problems.append(Problem(name, f"is {value.dtype}, layer 0's is {stacked.dtype}: one dtype per stacked parameter"))
            elif value is not None:
                stacked[i] = value
        out[param] = stacked
    if cfg["attention_pool"]:
        one("head.probe", "pool.probe", lambda a: a.reshape(1, D), (1, 1, D))
        packed_w = tensors.fetch(prefix + "head.attention.in_proj_weight", f"{pathway}.pool.attn.q/k/v_proj.weight", (3 * D, D), problems)
        packed_b = tensors.fetch(prefix + "head.attention.in_proj_bias", f"{pathway}.pool.attn.q/k/v_proj.bias", (3 * D,), problems)
        for j, name in enumerate("qkv"):
            if packed_w is not None:
                out[f"{pathway}.pool.attn.{name}_proj.weight"] = np.ascontiguousarray(packed_w[j * D : (j + 1) * D].T)
            if packed_b is not None:
                out[f"{pathway}.pool.attn.{name}_proj.bias"] = packed_b[j * D : (j + 1) * D]
        for hf_name, (ours, transpose) in HEAD_WEIGHTS.items():
            want = shapes[f"{pathway}.pool.{ours}"]
            one(f"head.{hf_name}", f"pool.{ours}", np.transpose if transpose else None, want[::-1] if transpose else want)
    if problems:
        raise HFImportError(problems)
    return out


def siglip_hf_config(cfg: dict[str, Any], projection_dim: int | None = None) -> dict[str, Any]:
    """The HF `SiglipVisionConfig` (as config.json data) of a `siglip_encoder` config."""
    h, w = cfg["image_size"]
    if h != w:
        raise HFImportError([Problem("image_size", f"is {h}x{w}: Hugging Face SigLIP images are square")])
    out = {
        "model_type": "siglip_vision_model",
        "hidden_size": cfg["width"],
        "intermediate_size": cfg.get("mlp_dim", 4304),
        "num_hidden_layers": cfg.get("depth", 27),
        "num_attention_heads": cfg.get("heads", 16),
        "num_channels": cfg.get("channels", 3),
        "image_size": h,
        "patch_size": cfg.get("patch", 14),
        "hidden_act": "gelu_pytorch_tanh",
        "layer_norm_eps": cfg.get("norm_eps", 1e-6),
        "attention_dropout": 0.0,
        "vision_use_head": bool(cfg.get("attention_pool", False)),
    }
    if projection_dim is not None:
        out["projection_dim"] = projection_dim
    return out


def siglip_tensors(cfg: dict[str, Any], params: dict[str, np.ndarray], *, prefix: str, pathway: str = "image") -> dict[str, np.ndarray]:
    """HF's tensors of the vision tower (names under `prefix`) from the parameters of pathway `pathway`."""
    get = lambda ours: params[f"{pathway}.{ours}"]  # noqa: E731
    p, C, D = cfg.get("patch", 14), cfg.get("channels", 3), cfg["width"]
    out = {
        "embeddings.patch_embedding.weight": _patch_to_hf(get("patch_embed.weight"), p, C),
        "embeddings.patch_embedding.bias": get("patch_embed.bias"),
        "embeddings.position_embedding.weight": get("position"),
        "post_layernorm.weight": get("post_norm.weight"),
        "post_layernorm.bias": get("post_norm.bias"),
    }
    for hf_name, (ours, transpose) in LAYER_WEIGHTS.items():
        stacked = get(f"blocks.layers.{ours}")
        for i in range(stacked.shape[0]):
            out[f"encoder.layers.{i}.{hf_name}"] = stacked[i].T if transpose else stacked[i]
    if cfg.get("attention_pool"):
        out["head.probe"] = get("pool.probe").reshape(1, 1, D)
        out["head.attention.in_proj_weight"] = np.concatenate([get(f"pool.attn.{n}_proj.weight").T for n in "qkv"])
        out["head.attention.in_proj_bias"] = np.concatenate([get(f"pool.attn.{n}_proj.bias") for n in "qkv"])
        for hf_name, (ours, transpose) in HEAD_WEIGHTS.items():
            out[f"head.{hf_name}"] = get(f"pool.{ours}").T if transpose else get(f"pool.{ours}")
    return {prefix + k: np.ascontiguousarray(v) for k, v in out.items()}
