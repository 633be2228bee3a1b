"""Peak host memory and speed of `pathways import hf` on a ~1 GB sharded float32 checkpoint.

    .venv/bin/python benchmarks/import_memory.py [--gb 1.0] [--keep DIR]

Writes a random Gemma checkpoint in Hugging Face's layout (config.json, four
safetensors shards and model.safetensors.index.json; no torch), then imports it in
a fresh process that reports its own peak RSS (`ru_maxrss`), and runs the same
process without the import (interpreter, jax and pathways loaded) as the baseline.
Prints the checkpoint's size, peak RSS minus baseline as a multiple of that size
(the issue's bound: 1.3x), and seconds per GB. Results: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from safetensors.numpy import save_file

CHILD = """
import resource, sys, time
import jax, jax.numpy as jnp
import pathways.interop
jnp.zeros(1).block_until_ready()
t = time.perf_counter()
if sys.argv[1] != "-":
    pathways.interop.import_hf(sys.argv[1], sys.argv[2])
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def write_checkpoint(root: Path, gb: float) -> int:
    """A random Gemma checkpoint of about `gb` GB (float32) in four shards; returns its bytes of weights."""
    width, mlp, heads, head_dim, vocab = 1024, 4096, 8, 128, 16384
    per_layer = width * heads * head_dim * 2 + width * head_dim * 2 + 3 * width * mlp + 2 * width
    depth = max(1, round((gb * 2**30 / 4 - vocab * width) / per_layer))
    config = {
        "model_type": "gemma", "architectures": ["GemmaForCausalLM"], "vocab_size": vocab, "hidden_size": width,
        "intermediate_size": mlp, "num_hidden_layers": depth, "num_attention_heads": heads, "num_key_value_heads": 1,
        "head_dim": head_dim, "hidden_act": "gelu_pytorch_tanh", "max_position_embeddings": 2048, "tie_word_embeddings": True,
    }
    (root / "config.json").write_text(json.dumps(config))
    rng = np.random.default_rng(0)
    normal = lambda *shape: rng.standard_normal(shape, dtype=np.float32) * 0.02  # noqa: E731
    names: list[tuple[str, tuple[int, ...]]] = [("model.embed_tokens.weight", (vocab, width)), ("model.norm.weight", (width,))]
    for i in range(depth):
        p = f"model.layers.{i}."
        names += [
            (p + "input_layernorm.weight", (width,)), (p + "post_attention_layernorm.weight", (width,)),
            (p + "self_attn.q_proj.weight", (heads * head_dim, width)), (p + "self_attn.k_proj.weight", (head_dim, width)),
            (p + "self_attn.v_proj.weight", (head_dim, width)), (p + "self_attn.o_proj.weight", (width, heads * head_dim)),
            (p + "mlp.gate_proj.weight", (mlp, width)), (p + "mlp.up_proj.weight", (mlp, width)), (p + "mlp.down_proj.weight", (width, mlp)),
        ]
    shards = np.array_split(np.arange(len(names)), 4)
    weight_map, total = {}, 0
    for s, idx in enumerate(shards):
        file = f"model-{s + 1:05d}-of-{len(shards):05d}.safetensors"
        tensors = {names[i][0]: normal(*names[i][1]) for i in idx}
        save_file(tensors, str(root / file), metadata={"format": "pt"})
        total += sum(t.nbytes for t in tensors.values())
        weight_map |= dict.fromkeys(tensors, file)
        del tensors
    (root / "model.safetensors.index.json").write_text(json.dumps({"metadata": {"total_size": total}, "weight_map": weight_map}))
    return total


def child(*argv: str) -> tuple[float, int]:
    out = subprocess.run([sys.executable, "-c", CHILD, *argv], check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hf = Path(tmp) / "hf"
        hf.mkdir()
        size = write_checkpoint(hf, args.gb)
        print(f"checkpoint: {size / 2**30:.3f} GiB of float32 weights in 4 shards")
        rows = []
        for r in range(args.repeats):  # interleaved: baseline, import, baseline, import, ...
            _, base = child("-")
            seconds, peak = child(str(hf), str(Path(tmp) / f"out{r}"))
            rows.append((seconds, peak, base))
            print(f"  run {r}: baseline {base / 2**30:.3f} GiB, peak {peak / 2**30:.3f} GiB, "
                  f"(peak - baseline) / size {(peak - base) / size:.2f}x, {seconds / (size / 2**30):.1f} s/GiB")
        ratio = float(np.median([(p - b) / size for _, p, b in rows]))
        speed = float(np.median([s / (size / 2**30) for s, _, _ in rows]))
        print(f"median: (peak RSS - interpreter) / checkpoint size = {ratio:.2f}x; {speed:.1f} s per GiB")


if __name__ == "__main__":
    main()
