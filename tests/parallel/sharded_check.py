"""Run in a subprocess with 8 simulated CPU devices (XLA_FLAGS set by the test); prints JSON.

Trains the same tiny image+text model without a mesh and under data-parallel,
FSDP and tensor-parallel meshes, and reports losses, parameter layouts,
a fine-tune on a sharded model and a resume across meshes.
"""

import json
import shutil
import sys
from pathlib import Path

import jax
import numpy as np

jax.config.update("jax_numpy_rank_promotion", "raise")

from pathways.cli import main  # noqa: E402
from pathways.train import load  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CONFIG = """\
name: tiny-sharded
tokenizer: english.model
dims: {B: 8, T: 16}
batch:
  tokens: {shape: [B, T], dtype: int32}
  image: {shape: [B, 8, 8, 1], dtype: float32}
pathways:
  text: {type: token_embedding, config: {vocab_size: 512, width: 32}, inputs: {tokens: batch.tokens}}
  image:
    type: vit_encoder
    config: {image_size: [8, 8], channels: 1, patch: 2, width: 32, depth: 1, heads: 2, mlp_dim: 64, out_dim: 32}
    inputs: {images: batch.image}
  fusion: {type: early_fusion, config: {width: 32}, inputs: {prefix: [image.tokens], text: text.embeddings, text_mask: text.mask}}
  decoder:
    type: gemma_decoder
    config: {width: 32, depth: 2, heads: 4, kv_heads: 2, head_dim: 8, mlp_dim: 64}
    inputs: {x: fusion.x, mask: fusion.mask, positions: fusion.positions}
  lm_head: {type: lm_head, config: {vocab_size: 512, width: 32, tied: true}, inputs: {x: decoder.x, embedding: text.table}}
data: {dataset: digits, fields: {tokens: text, image: image}}
train:
  steps: 4
  optimizer: {lr: 3.0e-3}
  schedule: {kind: constant}
  losses: [{type: next_token, logits: lm_head.logits, targets: batch.tokens}]
  log_every: 1
  checkpoint_every: 2
"""
MESHES = {
    "none": None,
    "data": "{axes: {data: 8}}",
    "fsdp": "{axes: {data: 2, fsdp: 4}}",
    "tensor": "{axes: {data: -1, tensor: 2}}",
}


def write(tmp: Path, name: str, mesh: str | None) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(CONFIG + (f"mesh: {mesh}\n" if mesh else ""))
    return path


def losses(run: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (run / "metrics.jsonl").read_text().splitlines()]


def layouts() -> dict:
    import pathways
    from pathways.parallel import make_mesh, param_specs

    graph = pathways.validate(tmp / "tensor.yaml")
    model = pathways.build_abstract(graph)
    out = {}
    for axes in ({"data": 2, "fsdp": 4}, {"data": 4, "tensor": 2}):
        specs = param_specs(model, make_mesh(axes))
        get = lambda f: list(f(specs.pathways))  # noqa: E731
        out[json.dumps(axes)] = {
            "decoder.q_proj": get(lambda p: p["decoder"].blocks.layers.attn.q_proj.weight),
            "decoder.o_proj": get(lambda p: p["decoder"].blocks.layers.attn.o_proj.weight),
            "decoder.attn_norm": get(lambda p: p["decoder"].blocks.layers.attn_norm.weight),
            "text.weight": get(lambda p: p["text"].weight),
        }
    return out


def actual_layout(run: Path) -> str:
    """The sharding a trained parameter really has on the devices."""
    from pathways.graph import param_key as _key
    from pathways.train import Overrides, prepare

    _, state = prepare(tmp / "fsdp.yaml", Overrides(steps=1))
    trainable, opt_state = state.trainable, state.opt_state
    moments = {_key(p): x for p, x in jax.tree_util.tree_flatten_with_path(opt_state)[0]}
    mu = next(x for k, x in moments.items() if k.endswith("mu.pathways.decoder.blocks.layers.attn.q_proj.weight"))
    return [list(trainable.pathways["decoder"].blocks.layers.attn.q_proj.weight.sharding.spec), list(mu.sharding.spec)]


if __name__ == "__main__":
    tmp = Path(sys.argv[1])
    shutil.copy(ROOT / "examples" / "tokenizers" / "english.model", tmp / "english.model")
    result = {"devices": jax.device_count()}
    for name, mesh in MESHES.items():
        code = main(["train", str(write(tmp, name, mesh)), "--out", str(tmp / f"run-{name}"), "--no-progress"])
        result[f"losses/{name}"] = losses(tmp / f"run-{name}") if code == 0 else code
    result["layouts"] = layouts()
    result["actual_fsdp_q_proj"] = actual_layout(tmp)

    # Fine-tune one pathway of a sharded model: only it moves.
    code = main(["finetune", str(tmp / "fsdp.yaml"), "--pathway", "image", "--from", str(tmp / "run-data"), "--out", str(tmp / "ft"), "--steps", "2", "--no-progress"])
    a, b = load(tmp / "run-data").params, load(tmp / "ft").params
    result["finetune_changed"] = sorted({k.split(".")[0] for k in a if not np.array_equal(a[k], b[k])}) if code == 0 else code

    # Save under one mesh, resume under another: same result as never stopping.
    main(["train", str(tmp / "data.yaml"), "--out", str(tmp / "cross"), "--steps", "2", "--no-progress"])
    code = main(["train", str(tmp / "tensor.yaml"), "--out", str(tmp / "cross"), "--resume", "--no-progress"])
    a, b = load(tmp / "cross").params, load(tmp / "run-none").params
    result["cross_mesh_resume_max_diff"] = max(float(np.max(np.abs(a[k] - b[k]))) for k in a) if code == 0 else code

    # A dimension that does not divide its mesh axis is named.
    bad = write(tmp, "bad", "{axes: {fsdp: 8}}")
    result["bad_mesh_exit"] = main(["train", str(bad), "--out", str(tmp / "bad"), "--no-progress"])
    result["too_many_exit"] = main(["train", str(write(tmp, "many", "{axes: {data: 16}}")), "--out", str(tmp / "many"), "--no-progress"])
    print("RESULT " + json.dumps(result))
