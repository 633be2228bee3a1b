"""Cached vs uncached generation of 256 new tokens with the example decoder, batch 1 and 8.

    python benchmarks/generation.py [--quick] [--json PATH]

Both decoders are jitted whole (prefill + `lax.scan` of steps, vs a `fori_loop` that reruns
the full graph on the full-length buffer each step) and timed interleaved in one process;
the figure is the median over rounds of uncached time / cached time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import pathways
from pathways.data import ByteTokenizer
from pathways.generate import Generator, Sampling, generate_cached, generate_uncached

CONFIG = """\
name: bench-generation
tokenizer: bytes
dims: {B: 1, T: 320}
batch:
  tokens: {shape: [B, T], dtype: int32}
pathways:
  text: {type: token_embedding, config: {vocab_size: 259, width: 128}, inputs: {tokens: batch.tokens}}
  decoder:
    type: gemma_decoder
    config: {width: 128, depth: 4, heads: 4, kv_heads: 1, head_dim: 32, mlp_dim: 512}
    inputs: {x: text.embeddings, token_mask: text.mask}
  lm_head: {type: lm_head, config: {vocab_size: 259, width: 128, tied: true}, inputs: {x: decoder.x, embedding: text.table}}
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    path = Path("/tmp/bench-generation.yaml")
    path.write_text(CONFIG)
    graph = pathways.validate(path)
    gen = Generator(pathways.build(graph, jax.random.key(0)), graph, ByteTokenizer())
    new = 32 if args.quick else 256
    rounds = 3 if args.quick else 7
    rows = []
    for batch in (1, 8):
        prompts = [f"Prompt number {i}: the example decoder continues this text." for i in range(batch)]
        tokens, lengths = gen.encode(prompts, new)
        b = gen.batch(tokens)
        kw = dict(route=gen.route, max_new=new, eos_id=-1, pad_id=0)  # eos -1: always decode all tokens
        cached = lambda: generate_cached(gen.model, b, jnp.asarray(lengths), jax.random.key(0), sampling=Sampling(), **kw)  # noqa: E731
        full = lambda: generate_uncached(gen.model, b, jnp.asarray(lengths), **kw)  # noqa: E731
        same = bool(np.array_equal(np.asarray(cached()), np.asarray(full())))  # compiles both
        times = {"cached": [], "uncached": []}
        for r in range(rounds):
            for name, fn in (("cached", cached), ("uncached", full)) if r % 2 == 0 else (("uncached", full), ("cached", cached)):
                t0 = time.perf_counter()
                jax.block_until_ready(fn())
                times[name].append(time.perf_counter() - t0)
        ratios = [u / c for u, c in zip(times["uncached"], times["cached"])]
        row = {
            "batch": batch,
            "new_tokens": new,
            "identical_tokens": same,
            "cached_tokens_per_s": batch * new / statistics.median(times["cached"]),
            "uncached_tokens_per_s": batch * new / statistics.median(times["uncached"]),
            "speedup_median": statistics.median(ratios),
            "speedup_min": min(ratios),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"jax": jax.__version__, "device": jax.devices()[0].device_kind, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
