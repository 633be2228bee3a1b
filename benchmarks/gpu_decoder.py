"""Tokens/s and model FLOPs utilisation of the example decoder's train step on one accelerator.

    python benchmarks/gpu_decoder.py --json out.json

Builds the decoder LM of benchmarks/configs/decoder_lm.yaml through pathways
(layers unrolled, so XLA's cost analysis counts every layer), times the jitted
train step (adamw, clipping) at the example's batch (16 x 128) and at larger
ones, in float32 and with bfloat16 compute, and reports tokens/s and MFU
against the chip's published dense bf16 peak (H100 SXM: 989 TFLOP/s).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import pathways
from pathways.config import load_config
from pathways.graph import build, resolve
from pathways.train import make_loss_fn, make_optimizer, make_train_step, trainable_spec

PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "A100": 312e12}
CONFIG = Path(__file__).parent / "configs" / "decoder_lm.yaml"


def peak(device) -> tuple[str, float | None]:
    kind = device.device_kind
    return kind, next((v for k, v in PEAK_BF16.items() if k in kind), None)


def measure(batch: int, seq: int, dtype: str, width: int, depth: int, steps: int) -> dict:
    loaded = load_config(CONFIG)
    spec = loaded.spec
    pw = dict(spec.pathways)
    pw["text"] = pw["text"].model_copy(update={"config": {**pw["text"].config, "width": width}})
    pw["decoder"] = pw["decoder"].model_copy(update={"config": {**pw["decoder"].config, "width": width, "depth": depth, "mlp_dim": 4 * width, "heads": width // 32}})
    pw["head"] = pw["head"].model_copy(update={"config": {**pw["head"].config, "width": width}})
    train = spec.train.model_copy(update={"compute_dtype": dtype})
    loaded.spec = spec.model_copy(update={"dims": {"B": batch, "T": seq}, "pathways": pw, "train": train})
    graph = resolve(loaded)
    model = build(graph, jax.random.key(0))
    fspec = trainable_spec(model, None)
    trainable, frozen = eqx.partition(model, fspec)
    opt = make_optimizer(train)
    opt_state = opt.init(eqx.filter(trainable, eqx.is_inexact_array))
    step = make_train_step(make_loss_fn(train.losses, jnp.bfloat16 if dtype == "bfloat16" else jnp.float32), opt)
    tokens = jax.random.randint(jax.random.key(1), (batch, seq), 1, 4096, jnp.int32)
    data = {"tokens": tokens}
    flops = jax.jit(lambda t, o, b: step(t, frozen, o, b)).lower(trainable, opt_state, data).compile().cost_analysis()
    flops = (flops[0] if isinstance(flops, list) else flops)["flops"]
    for _ in range(3):
        trainable, opt_state, m = step(trainable, frozen, opt_state, data)
    jax.block_until_ready(m["loss"])
    t0 = time.perf_counter()
    for _ in range(steps):
        trainable, opt_state, m = step(trainable, frozen, opt_state, data)
    jax.block_until_ready(m["loss"])
    dt = (time.perf_counter() - t0) / steps
    kind, pk = peak(jax.devices()[0])
    params = sum(x.size for x in jax.tree.leaves(eqx.filter(model, eqx.is_inexact_array)))
    return {
        "batch": batch, "seq": seq, "width": width, "depth": depth, "params": int(params), "compute_dtype": dtype,
        "step_ms": dt * 1e3, "tokens_per_s": batch * seq / dt, "xla_flops_per_step": flops,
        "mfu_vs_bf16_peak": (flops / dt / pk) if pk else None, "loss": float(m["loss"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    dev = jax.devices()[0]
    rows = []
    for batch, seq, width, depth in ((16, 128, 128, 4), (64, 512, 128, 4), (32, 512, 1024, 8)):
        for dtype in ("float32", "bfloat16"):
            r = measure(batch, seq, dtype, width, depth, args.steps)
            rows.append(r)
            print(json.dumps(r), flush=True)
            out = {"device": dev.device_kind, "platform": dev.platform, "jax": jax.__version__, "pathways": pathways.__version__, "rows": rows}
            if args.json:  # after every row, so a failure later keeps what was measured
                Path(args.json).write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
