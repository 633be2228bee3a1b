"""Import a Hugging Face Gemma text checkpoint (Gemma 1, 2 or 3: `model_type` `gemma`, `gemma2`,
`gemma3_text`) as a Pathways checkpoint.

The Hugging Face directory holds `config.json` and safetensors weights (one
`model.safetensors`, or shards listed by `model.safetensors.index.json`), and
optionally the SentencePiece `tokenizer.model`. The import writes a checkpoint
directory as training does: `model.safetensors` (float32), `state.json` (step 0,
`imported_from`), `config.yaml` (token_embedding -> gemma_decoder -> tied
lm_head, with the checkpoint's exact dimensions) and `tokenizer.model`.

Both sides follow the same conventions, so weights map one to one: RMSNorm
scales by `1 + w` (HF stores `w`), RoPE rotates the two halves of each head,
the MLP is GeGLU with tanh-approximated GELU, embeddings are scaled by
`sqrt(width)` and tied with the output layer. Only two things change: HF
`nn.Linear` weights are `[out, in]` and Pathways' are `[in, out]` (transposed),
and HF's per-layer tensors are stacked on a leading layer axis.

Weights are read with safetensors' numpy loader (bfloat16 arrives as
`ml_dtypes.bfloat16`): no torch is needed.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np
import yaml

from pathways._errors import PathwaysError, Problem
from pathways.config import load_config, resolved_yaml
from pathways.graph import ResolvedGraph, build_abstract, param_key, resolve
from pathways.interop._safetensors import SafetensorsError, SafetensorsFile
from pathways.train import CheckpointState, config_hash, write_checkpoint

# HF `hidden_act` values that mean tanh-approximated GELU in a Gemma config:
# transformers reads the legacy "gelu" of the original releases as the tanh form.
TANH_GELU = ("gelu", "gelu_pytorch_tanh")

# Text decoders this import reads, by `config.json` `model_type`.
TEXT_FAMILIES = ("gemma", "gemma2", "gemma3_text")

# Per-layer HF tensor (under `layers.{i}.`) -> Pathways parameter (under `decoder.blocks.layers.`), transposed?
LAYER_WEIGHTS: dict[str, tuple[str, bool]] = {
    "input_layernorm.weight": ("attn_norm.weight", False),
    "self_attn.q_proj.weight": ("attn.q_proj.weight", True),
    "self_attn.k_proj.weight": ("attn.k_proj.weight", True),
    "self_attn.v_proj.weight": ("attn.v_proj.weight", True),
    "self_attn.o_proj.weight": ("attn.o_proj.weight", True),
    "post_attention_layernorm.weight": ("mlp_norm.weight", False),
    "mlp.gate_proj.weight": ("mlp.gate_proj.weight", True),
    "mlp.up_proj.weight": ("mlp.up_proj.weight", True),
    "mlp.down_proj.weight": ("mlp.down_proj.weight", True),
}
# Gemma 2 and 3 normalise each branch's output too, so the second norm is a post-attention norm there.
LAYER_WEIGHTS_2 = {k: v for k, v in LAYER_WEIGHTS.items() if k != "post_attention_layernorm.weight"} | {
    "post_attention_layernorm.weight": ("post_attn_norm.weight", False),
    "pre_feedforward_layernorm.weight": ("mlp_norm.weight", False),
    "post_feedforward_layernorm.weight": ("post_mlp_norm.weight", False),
}
LAYER_WEIGHTS_3 = LAYER_WEIGHTS_2 | {"self_attn.q_norm.weight": ("attn.q_norm.weight", False), "self_attn.k_norm.weight": ("attn.k_norm.weight", False)}
FAMILY_WEIGHTS = {"gemma": LAYER_WEIGHTS, "gemma2": LAYER_WEIGHTS_2, "gemma3_text": LAYER_WEIGHTS_3}


class HFImportError(PathwaysError):
    """A Hugging Face checkpoint cannot be imported: not Gemma, unsupported options, or weights that do not fit."""


# ---- config ----------------------------------------------------------------------------


def read_hf_config(hf_dir: str | Path, families: tuple[str, ...] = TEXT_FAMILIES) -> dict[str, Any]:
    """`config.json` of a HF checkpoint directory, checked to be of one of `families` (`model_type`)."""
    file = Path(hf_dir) / "config.json"
    if not file.is_file():
        raise HFImportError([Problem("", "no config.json: not a Hugging Face checkpoint directory", str(hf_dir))])
    try:
        hf = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise HFImportError([Problem("", f"not valid JSON: {exc}", str(file))]) from None
    model_type = hf.get("model_type")
    if model_type not in families:
        raise HFImportError([Problem("model_type", f"is {model_type!r}: supported model types are {', '.join(families)}", str(file))])
    return hf


def _rope(hf: dict[str, Any], file: str) -> tuple[float, float, float | None]:
    """(global base, global linear scaling, local base or None) from `rope_theta` / `rope_scaling` /
    `rope_local_base_freq` (transformers 4) or `rope_parameters` (transformers 5, per layer type for Gemma 3)."""
    params = hf.get("rope_parameters") or {}
    per_type = isinstance(params.get("full_attention"), dict) or isinstance(params.get("sliding_attention"), dict)
    full = dict(params.get("full_attention") or {}) if per_type else dict(params)
    local = dict(params.get("sliding_attention") or {}) if per_type else {}
    full = {**(hf.get("rope_scaling") or {}), **full}
    problems = []
    scale = 1.0
    for where, rope in (("full_attention", full), ("sliding_attention", local)):
        kind = rope.get("rope_type") or rope.get("type") or "default"
        if kind == "linear" and where == "full_attention":
            scale = float(rope.get("factor", 1.0))
        elif kind != "default":
            field = f"rope_parameters.{where}" if per_type else ("rope_parameters" if params else "rope_scaling")
            problems.append(Problem(field, f"RoPE type {kind!r} is not supported (default, or linear on global layers)", file))
    if problems:
        raise HFImportError(problems)
    base = float(full.get("rope_theta", hf.get("rope_theta", 1_000_000.0 if hf.get("model_type") == "gemma3_text" else 10_000.0)))
    local_base = local.get("rope_theta", hf.get("rope_local_base_freq"))
    return base, scale, None if local_base is None else float(local_base)


def _attention_pattern(hf: dict[str, Any], file: str) -> list[str] | None:
    """The shortest repeating pattern of HF's `layer_types` as `local`/`global` (None: all global)."""
    depth = int(hf["num_hidden_layers"])
    types = hf.get("layer_types")
    if types is None:
        if hf["model_type"] == "gemma":
            return None
        period = 2 if hf["model_type"] == "gemma2" else int(hf.get("sliding_window_pattern", 6))
        types = ["sliding_attention" if (i + 1) % period else "full_attention" for i in range(depth)]
    names = {"sliding_attention": "local", "full_attention": "global"}
    bad = sorted({t for t in types if t not in names})
    if bad or len(types) != depth:
        why = f"has layer types {bad} (only sliding_attention and full_attention)" if bad else f"lists {len(types)} layers for num_hidden_layers {depth}"
        raise HFImportError([Problem("layer_types", why, file)])
    kinds = [names[t] for t in types]
    if "local" not in kinds:
        return None
    period = next(p for p in range(1, depth + 1) if all(kinds[i] == kinds[i % p] for i in range(depth)))
    return kinds[:period]


def gemma_config(hf: dict[str, Any], *, name: str = "gemma", tokenizer: bool = False, source: str = "config.json") -> dict[str, Any]:
    """The Pathways config (as YAML data) of a HF Gemma `config.json`, with exactly its dimensions.

    `tokenizer`: the checkpoint carries `tokenizer.model`. `source` names the file
    in errors. Raises `HFImportError` for options Pathways' Gemma does not have.
    """
    problems = []
    act = hf.get("hidden_activation") or hf.get("hidden_act", "gelu_pytorch_tanh")
    if act not in TANH_GELU:
        problems.append(Problem("hidden_act", f"is {act!r}: the Gemma decoder uses tanh-approximated GELU ({' or '.join(TANH_GELU)})", source))
    if hf.get("attention_bias"):
        problems.append(Problem("attention_bias", "is true: the Gemma decoder has no attention biases", source))
    if hf.get("use_bidirectional_attention"):
        problems.append(Problem("use_bidirectional_attention", "is true: the Gemma decoder is causal", source))
    if not hf.get("tie_word_embeddings", True):
        problems.append(Problem("tie_word_embeddings", "is false: only Gemma's tied embeddings are supported", source))
    rope_base, rope_scale, rope_local = 10_000.0, 1.0, None
    try:
        rope_base, rope_scale, rope_local = _rope(hf, source)
    except HFImportError as exc:
        problems += exc.problems
    needed = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
    problems += [Problem(k, "is missing", source) for k in needed if k not in hf]
    pattern = None
    if not problems:
        try:
            pattern = _attention_pattern(hf, source)
        except HFImportError as exc:
            problems += exc.problems
    family = hf.get("model_type", "gemma")
    if family == "gemma":
        problems += [
            Problem(k, f"is {hf[k]!r}, but Gemma (1) has no soft-capping (is model_type right?)", source)
            for k in ("attn_logit_softcapping", "final_logit_softcapping")
            if hf.get(k) is not None
        ]
    if problems:
        raise HFImportError(problems)

    heads = int(hf["num_attention_heads"])
    vocab, width = int(hf["vocab_size"]), int(hf["hidden_size"])
    decoder = {
        "width": width,
        "depth": int(hf["num_hidden_layers"]),
        "heads": heads,
        "kv_heads": int(hf.get("num_key_value_heads") or heads),
        "head_dim": int(hf.get("head_dim") or width // heads),
        "mlp_dim": int(hf["intermediate_size"]),
        "rope_base": rope_base,
        "norm_eps": float(hf.get("rms_norm_eps", 1e-6)),
    }
    if family != "gemma":  # Gemma 2 and 3
        decoder["post_norms"] = True
        decoder["query_pre_attn_scalar"] = float(hf.get("query_pre_attn_scalar") or decoder["head_dim"])
        if hf.get("attn_logit_softcapping") is not None:
            decoder["attn_logit_softcap"] = float(hf["attn_logit_softcapping"])
        if pattern is not None:
            decoder["attention_pattern"] = pattern
            decoder["sliding_window"] = int(hf.get("sliding_window") or 4096)
        if family == "gemma3_text":
            decoder["qk_norm"] = True
        if rope_local is not None and pattern is not None:
            decoder["rope_local_base"] = rope_local
        if rope_scale != 1.0:
            decoder["rope_global_scaling"] = rope_scale
    head = {"vocab_size": vocab, "width": width, "tied": True}
    if hf.get("final_logit_softcapping") is not None and family != "gemma":
        head["softcap"] = float(hf["final_logit_softcapping"])
    pad_id = hf.get("pad_token_id")
    config: dict[str, Any] = {"name": name, "description": f"imported from a Hugging Face {hf.get('model_type', 'gemma')} checkpoint"}
    if tokenizer:
        config["tokenizer"] = "tokenizer.model"
    config |= {
        "dims": {"B": 1, "T": int(hf.get("max_position_embeddings", 8192))},
        "batch": {"tokens": {"shape": ["B", "T"], "dtype": "int32"}},
        "pathways": {
            "text": {
                "type": "token_embedding",
                "config": {"vocab_size": vocab, "width": width, "pad_id": 0 if pad_id is None else int(pad_id)},
                "inputs": {"tokens": "batch.tokens"},
            },
            "decoder": {"type": "gemma_decoder", "config": decoder, "inputs": {"x": "text.embeddings", "token_mask": "text.mask"}},
            "lm_head": {
                "type": "lm_head",
                "config": head,
                "inputs": {"x": "decoder.x", "embedding": "text.table"},
            },
        },
    }
    return config


def param_shapes(config: str | Path | ResolvedGraph) -> dict[str, tuple[int, ...]]:
    """Shape of every parameter (`<pathway>.<path>`) of a config's model, computed abstractly."""
    graph = config if isinstance(config, ResolvedGraph) else resolve(load_config(config))
    leaves = jax.tree_util.tree_flatten_with_path(build_abstract(graph).pathways)[0]
    return {param_key(path): tuple(leaf.shape) for path, leaf in leaves if isinstance(leaf, jax.ShapeDtypeStruct)}


def check_shapes(shapes: dict[str, tuple[int, ...]], target: str | Path) -> None:
    """Raise `HFImportError` naming each parameter whose shape differs from (or is absent in) `target`'s model."""
    want = param_shapes(target)
    problems = [
        Problem(name, f"imported shape {list(shapes[name])}, target shape {list(want[name])}", str(target))
        for name in sorted(shapes.keys() & want.keys())
        if shapes[name] != want[name]
    ]
    problems += [Problem(n, "imported, but the target has no such parameter", str(target)) for n in sorted(shapes.keys() - want.keys())]
    problems += [Problem(n, f"the target needs shape {list(want[n])}; the import has none", str(target)) for n in sorted(want.keys() - shapes.keys())]
    if problems:
        raise HFImportError(problems)


# ---- weights ---------------------------------------------------------------------------


class Tensors:
    """The tensors of a HF checkpoint by name (without the `model.` prefix), read lazily: as float32, or as stored
    with `dtype="keep"`.

    `rename` maps each name further (older layouts of a family onto the current one).
    Records which names were read, so the import can check that none is left over.
    """

    def __init__(self, hf_dir: Path, stack: contextlib.ExitStack, rename=None, *, dtype: str = "float32"):
        self.where: dict[str, tuple[Any, str]] = {}  # name -> (open file, key in that file)
        self.used: set[str] = set()
        self.keep = dtype == "keep"
        for file in _weight_files(hf_dir):
            try:
                handle = stack.enter_context(SafetensorsFile(file))
            except (SafetensorsError, OSError) as exc:
                raise HFImportError([Problem("", f"cannot read (truncated or not safetensors): {exc}", str(file))]) from None
            for key in handle.keys():
                name = key.removeprefix("model.")
                name = rename(name) if rename else name
                if name in self.where:
                    raise HFImportError([Problem(key, "is stored twice (in two shards, or with and without 'model.')", str(file))])
                self.where[name] = (handle, key)

    def __contains__(self, name: str) -> bool:
        return name in self.where

    def get(self, name: str) -> np.ndarray:
        """The tensor, widened to float32 (or, with `dtype="keep"`, as stored)."""
        handle, key = self.where[name]
        self.used.add(name)
        value = handle.read(key)
        return value if self.keep else value.astype(np.float32, copy=False)

    def shape(self, name: str) -> tuple[int, ...]:
        handle, key = self.where[name]
        return handle.shape(key)

    def dtype(self, name: str) -> np.dtype:
        """The dtype `get` returns."""
        handle, key = self.where[name]
        return handle.dtype(key) if self.keep else np.dtype(np.float32)

    def fetch(self, name: str, param: str, want: tuple[int, ...], problems: list[Problem], to_ours=None, hf_shape=None) -> np.ndarray | None:
        """Tensor `name` as parameter `param` of shape `want` (`to_ours` converts HF's layout, whose shape is
        `hf_shape`), or None with a problem recorded when it is missing or of another shape."""
        if name not in self:
            problems.append(Problem(name, f"is missing (needed for {param})"))
            return None
        have, hf_want = self.shape(name), want if hf_shape is None else hf_shape
        if have != tuple(hf_want):
            problems.append(Problem(name, f"has shape {list(have)}, {param} needs {list(hf_want)} in HF layout"))
            return None
        value = self.get(name)
        return value if to_ours is None else np.ascontiguousarray(to_ours(value))  # safetensors writes the buffer as laid out

    def unused(self, allowed=()) -> list[str]:
        """Names never read (except those starting with one of `allowed`), sorted."""
        return sorted(n for n in set(self.where) - self.used if not n.startswith(tuple(allowed)))


def _weight_files(hf_dir: Path) -> list[Path]:
    """The safetensors files: the shards named by the index if there is one, else every `*.safetensors`."""
    index = hf_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text())["weight_map"]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise HFImportError([Problem("", f"not a safetensors index (no weight_map): {exc}", str(index))]) from None
        files = [hf_dir / name for name in sorted(set(weight_map.values()))]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise HFImportError([Problem("", f"shard {name} is listed but missing", str(index)) for name in missing])
        return files
    files = sorted(hf_dir.glob("*.safetensors"))
    if not files:
        pickled = sorted(p.name for p in hf_dir.glob("*.bin"))
        why = f" (found {', '.join(pickled)}: pickled PyTorch weights are not read; re-save with safe_serialization)" if pickled else ""
        raise HFImportError([Problem("", f"no *.safetensors weights{why}", str(hf_dir))])
    return files


def map_weights(hf: dict[str, Any], tensors: Tensors, shapes: dict[str, tuple[int, ...]], *, prefix: str = "", whole: bool = True) -> dict[str, np.ndarray]:
    """Pathways parameters from HF tensors: Linear weights transposed, layers stacked on axis 0.

    `shapes` are the parameters the Pathways model needs; the HF text model's tensors
    are named under `prefix`. A HF tensor that is missing, of another shape, or (when
    the text model is the `whole` checkpoint) left unused is an error listing every one.
    """
    depth = int(hf["num_hidden_layers"])
    problems: list[Problem] = []
    out: dict[str, np.ndarray] = {}
    for name, param in (("embed_tokens.weight", "text.weight"), ("norm.weight", "decoder.final_norm.weight")):
        value = tensors.fetch(prefix + name, param, shapes[param], problems)
        if value is not None:
            out[param] = value
    for hf_name, (ours, transpose) in FAMILY_WEIGHTS[hf.get("model_type", "gemma")].items():
        param = f"decoder.blocks.layers.{ours}"
        first = f"{prefix}layers.0.{hf_name}"
        stacked = np.empty(shapes[param], dtype=tensors.dtype(first) if first in tensors else np.float32)  # [L, ...], layer by layer
        want = shapes[param][1:]
        for i in range(depth):
            value = tensors.fetch(f"{prefix}layers.{i}.{hf_name}", param, want, problems, np.transpose if transpose else None, want[::-1] if transpose else want)
            if value is not None and value.dtype != stacked.dtype:  # only with dtype="keep"
                problems.append(Problem(f"{prefix}layers.{i}.{hf_name}", f"is {value.dtype}, layer 0's is {stacked.dtype}: one dtype per stacked parameter"))
            elif value is not None:
                stacked[i] = value
        out[param] = stacked
    if "lm_head.weight" in tensors and "text.weight" in out:  # some exports repeat the tied matrix
        if not np.array_equal(tensors.get("lm_head.weight"), out["text.weight"]):
            problems.append(Problem("lm_head.weight", "differs from embed_tokens.weight, but Gemma ties them (tie_word_embeddings)"))
    if whole:
        problems += [Problem(name, "is not a Gemma weight this import knows (left unused)") for name in tensors.unused()]
    if problems:
        raise HFImportError(problems)
    return out


# ---- the import ------------------------------------------------------------------------


def import_hf_gemma(hf_dir: str | Path, out_dir: str | Path, *, target: str | Path | None = None) -> Path:
    """Convert the HF Gemma text checkpoint `hf_dir` into the Pathways checkpoint directory `out_dir`.

    With `target` (a Pathways config), every parameter's shape is checked against
    that config's model first. Returns `out_dir`.
    """
    hf_dir = Path(hf_dir)
    _refuse_existing(out_dir)
    hf = read_hf_config(hf_dir)
    config = gemma_config(hf, name=hf_dir.resolve().name, tokenizer=(hf_dir / "tokenizer.model").is_file(), source=str(hf_dir / "config.json"))
    return write_import(hf_dir, out_dir, hf, config, lambda tensors, shapes: map_weights(hf, tensors, shapes), target=target)


def _refuse_existing(out_dir: str | Path) -> None:
    if Path(out_dir).exists():  # never written into: a failed import leaves nothing behind, a finished one is whole
        raise HFImportError([Problem("--out", "already exists: give a new directory (nothing was written)", str(out_dir))])


def write_import(
    hf_dir: Path, out_dir: str | Path, hf: dict[str, Any], config: dict[str, Any], read_params, *, target=None, rename=None, imported: dict | None = None, dtype: str = "float32"
) -> Path:
    """Validate `config` (YAML data), read its parameters with `read_params(tensors, shapes)` and write the checkpoint.

    The config is validated as a file beside the tokenizer, before any weight is read;
    the checkpoint is written under a temporary name and renamed into place.
    """
    out_dir = Path(out_dir)
    _refuse_existing(out_dir)
    tokenizer_file = hf_dir / "tokenizer.model"
    has_tokenizer = tokenizer_file.is_file()
    with tempfile.TemporaryDirectory() as staging:  # the config is validated as a file, beside its tokenizer
        staged = Path(staging) / "config.yaml"
        staged.write_text(yaml.safe_dump(config, sort_keys=False))
        if has_tokenizer:
            shutil.copyfile(tokenizer_file, Path(staging) / "tokenizer.model")
        try:
            loaded = load_config(staged)
            graph = resolve(loaded)
        except PathwaysError as exc:  # point at the HF file the value came from, not the staging copy
            source = str(hf_dir / "config.json")
            raise HFImportError([Problem(p.where, f"the imported config does not validate: {p.message}", source) for p in exc.problems]) from None
        shapes = param_shapes(graph)
        config = resolved_yaml(loaded)
    if target is not None:
        check_shapes(shapes, target)
    with contextlib.ExitStack() as stack:
        params = read_params(Tensors(hf_dir, stack, rename, dtype=dtype), shapes)
    state = CheckpointState(
        step=0,
        imported_from={
            "format": "hf",
            "model_type": hf["model_type"],
            "path": str(hf_dir.resolve()),
            "transformers_version": hf.get("transformers_version"),
            "dtype": "as stored" if dtype == "keep" else "float32",
            **(imported or {}),
        },
        config_sha256=config_hash(config),
        tokenizer=graph.tokenizer.identity if graph.tokenizer is not None else None,
    )
    extra = {"tokenizer.model": tokenizer_file.read_bytes()} if has_tokenizer else None
    return write_checkpoint(out_dir, params=params, opt_state=None, state=state, config=config, extra=extra)
