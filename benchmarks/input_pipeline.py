#!/usr/bin/env python
"""Input-pipeline benchmark: does the host build batches fast enough for the train step?

For each example config (default: examples/digits.yaml, SentencePiece tokenizer, and
examples/vqa.yaml, easy-VQA with the byte tokenizer), ``pathways.train.prepare(config)``
gives a ``Run``; the script times

* ``run.batch(step)`` alone: the host side (record lookup, tokenization, padding,
  stacking into NumPy arrays), walking the steps 0, 1, 2, ... as ``fit`` does;
* ``run.step_fn(trainable, frozen, opt_state, batch)`` followed by
  ``jax.block_until_ready``: the jitted train step consuming those NumPy batches
  (host-to-device copy included), as ``fit`` calls it,

interleaved in rounds (batches then steps on even rounds, steps then batches on odd
ones), and reports the median over rounds of the per-round ratio
``(batches per second) / (steps per second)``. Target: >= 5.

easy-VQA decodes each PNG the first time it is read and keeps it (``functools.cache``
on ``pathways.data.easy_vqa._image``), so its batches are timed twice: ``warm`` (every
image of the batch already decoded: the steady state) and ``cold`` (the cache cleared
before every batch, so all of its images are decoded: the worst case, as at the start
of a run). The script also counts how many records of the config's own run need a
decode (first sight of their image).

A breakdown of one batch (index permutation, record lookup, tokenization, stacking)
is printed for every config; ``--profile`` adds a cProfile listing of ``run.batch``.

    python benchmarks/input_pipeline.py            # both examples (about 2 minutes on 2 cores)
    python benchmarks/input_pipeline.py --quick    # smoke run
    python benchmarks/input_pipeline.py --json out.json --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np

from pathways.train import prepare

sys.path.insert(0, str(Path(__file__).resolve().parent))
_rank_promotion = jax.config.jax_numpy_rank_promotion
from train_step import machine_info, ratio_stats  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", _rank_promotion)  # train_step makes it strict; keep the default here

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [ROOT / "examples" / "digits.yaml", ROOT / "examples" / "vqa.yaml"]


def image_cache(run):
    """The decoded-image cache of datasets that have one (easy-VQA), else None."""
    if run.loaded.spec.data.dataset == "easy_vqa":
        from pathways.data import easy_vqa

        return easy_vqa._image
    return None


def decode_share(run, steps: int) -> float:
    """Fraction of the records of training steps [0, steps) whose image is read for the first time."""
    ds, seen, first = run.batcher.dataset, set(), 0
    for s in range(steps):
        for i in run.batcher.indices(s):
            img = ds.image_ids[int(i)]
            first += img not in seen
            seen.add(img)
    return first / (steps * run.batcher.batch_size)


class Pipeline:
    """One config's Run: its batches (host) and its train step (device), timed separately."""

    def __init__(self, config: Path, pool: int):
        t0 = time.perf_counter()
        self.run, state = prepare(config)
        self.trainable, self.opt_state, self.frozen = state.trainable, state.opt_state, state.frozen
        self.prepare_s = time.perf_counter() - t0
        self.name = config.stem
        self.config = config
        self.cache = image_cache(self.run)
        self.next_batch = 0  # the batch counter walks the run's steps 0, 1, 2, ...
        # The step consumes fresh NumPy batches, as in fit (a pool, built untimed).
        self.pool = [self.run.batch(s) for s in range(pool)]
        self.next_pool = 0
        t0 = time.perf_counter()
        self.steps(1)
        self.first_step_s = time.perf_counter() - t0  # trace + compile + one step

    def batches(self, k: int, mode: str) -> float:
        """Seconds per `run.batch(step)` over the next k steps."""
        run, total = self.run, 0.0
        for _ in range(k):
            s = self.next_batch
            self.next_batch += 1
            if mode == "warm" and self.cache is not None:
                run.batch(s)  # untimed: decode this batch's images
            elif mode == "cold":
                self.cache.cache_clear()
            t0 = time.perf_counter()
            run.batch(s)
            total += time.perf_counter() - t0
        return total / k

    def steps(self, k: int) -> float:
        """Seconds per train step (NumPy batch in, block until the new state is ready)."""
        t0 = time.perf_counter()
        for _ in range(k):
            batch = self.pool[self.next_pool % len(self.pool)]
            self.next_pool += 1
            self.trainable, self.opt_state, metrics = self.run.step_fn(self.trainable, self.frozen, self.opt_state, batch)
            jax.block_until_ready((self.trainable, self.opt_state, metrics))
        return (time.perf_counter() - t0) / k


def interleave(p: Pipeline, modes: list[str], rounds: int, k_batches: int, k_steps: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"step": [], **{m: [] for m in modes}}
    jobs = [*modes, "step"]
    for i in range(rounds):
        for job in jobs if i % 2 == 0 else jobs[::-1]:
            times[job].append(p.steps(k_steps) if job == "step" else p.batches(k_batches, job))
    return times


def breakdown(p: Pipeline, n: int) -> dict[str, float]:
    """Median milliseconds of each part of `run.batch(step)` over n steps (warm cache)."""
    b = p.run.batcher
    parts: dict[str, list[float]] = {k: [] for k in ("indices_x2", "records", "tokenize_pad", "to_array_stack", "collate", "batch_at")}
    text_fields = {name: spec for name, spec in b.batch.items() if np.issubdtype(spec.dtype, np.integer)}
    for s in range(n):
        b.batch_at(s)  # warm the image cache
        t0 = time.perf_counter()
        idx = b.indices(s)
        b.indices(s)  # batch_at computes the permutation twice (once for first_index)
        t1 = time.perf_counter()
        records = [b.dataset[int(i)] for i in idx]
        t2 = time.perf_counter()
        toks = {name: [b.tokenizer.pad(b.tokenizer.encode(r[b.fields[name]]), spec.shape[-1]) for r in records]
                for name, spec in text_fields.items() if isinstance(records[0][b.fields[name]], str)}
        t3 = time.perf_counter()
        for name, spec in b.batch.items():
            values = toks[name] if name in toks else [r[b.fields[name]] for r in records]
            np.stack([np.asarray(v, dtype=spec.dtype) for v in values])
        t4 = time.perf_counter()
        b.collate(records)
        t5 = time.perf_counter()
        b.batch_at(s)
        t6 = time.perf_counter()
        for k, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            parts[k].append(dt * 1e3)
    return {k: statistics.median(v) for k, v in parts.items()}


def profile(p: Pipeline, n: int, top: int = 12) -> str:
    prof = cProfile.Profile()
    prof.enable()
    for s in range(n):
        p.run.batch(s)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def describe(p: Pipeline) -> dict:
    run = p.run
    nodes = run.graph.nodes
    tok = run.graph.tokenizer
    return {
        "config": str(p.config.relative_to(ROOT)),
        "dataset": run.loaded.spec.data.dataset,
        "records": len(run.batcher.dataset),
        "batches_per_epoch": run.batcher.per_epoch,
        "batch": {k: [list(v.shape), str(v.dtype)] for k, v in run.graph.batch.items()},
        "tokenizer": getattr(tok, "name", str(tok)),
        "scan_layers": {n: nodes[n].cfg.scan_layers for n in nodes if hasattr(nodes[n].cfg, "scan_layers")},
        "train_steps": run.train.steps,
        "prepare_s": p.prepare_s,
        "first_step_s": p.first_step_s,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="short run: few rounds")
    ap.add_argument("--json", type=Path, help="write all figures to this JSON file")
    ap.add_argument("--configs", nargs="+", type=Path, default=CONFIGS, help="training configs (default: digits, vqa)")
    ap.add_argument("--rounds", type=int, help="interleaved rounds (default 30, quick 5)")
    ap.add_argument("--batches", type=int, help="batches timed per round and mode (default 16, quick 4)")
    ap.add_argument("--steps", type=int, help="train steps timed per round (default 3, quick 1)")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile listing of run.batch")
    args = ap.parse_args(argv)
    args.rounds = args.rounds or (5 if args.quick else 30)
    args.batches = args.batches or (4 if args.quick else 16)
    args.steps = args.steps or (1 if args.quick else 3)

    info = machine_info()
    print(f"machine: {info['nproc']} CPUs, {info['cpu_model']}; jax {info['jax']} ({info['backend']}); "
          f"rounds {args.rounds} x ({args.batches} batches per mode, {args.steps} steps)")
    results = {"machine": info, "args": {"quick": args.quick, "rounds": args.rounds, "batches": args.batches, "steps": args.steps},
               "target": 5.0, "configs": {}}
    for config in args.configs:
        p = Pipeline(config.resolve(), pool=8)
        modes = ["warm", "cold"] if p.cache is not None else ["warm"]
        p.batches(2, "warm")
        p.steps(2)  # warm-up
        times = interleave(p, modes, args.rounds, args.batches, args.steps)
        r = describe(p)
        r["median_ms"] = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        r["batches_per_s"] = {m: 1.0 / statistics.median(times[m]) for m in modes}
        r["steps_per_s"] = 1.0 / statistics.median(times["step"])
        # (batches/s) / (steps/s) = step time / batch time, per round
        r["ratio"] = {m: ratio_stats(times["step"], times[m]) for m in modes}
        # fit builds the batch and runs the step one after the other (no overlap):
        r["batch_share_of_fit_step"] = {m: statistics.median(b / (b + s) for b, s in zip(times[m], times["step"])) for m in modes}
        if p.cache is not None:
            r["records_needing_decode_over_run"] = decode_share(p.run, p.run.train.steps)
        r["breakdown_ms"] = breakdown(p, 10 if args.quick else 40)
        results["configs"][p.name] = r
        print_config(p.name, r)
        if args.profile:
            prof = profile(p, 50 if args.quick else 200)
            results["configs"][p.name]["profile"] = prof
            print(prof)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0


def print_config(name: str, r: dict) -> None:
    print(f"\n== {name}: {r['config']} (dataset {r['dataset']}, {r['records']:,} records, tokenizer {r['tokenizer']}, "
          f"batch {r['batch']}, scan_layers {r['scan_layers']})")
    print(f"  prepare {r['prepare_s']:.1f} s, first step (trace + compile) {r['first_step_s']:.1f} s")
    print(f"  train step: {r['median_ms']['step']:.1f} ms median ({r['steps_per_s']:.1f} steps/s)")
    print(f"  {'run.batch':<12}{'ms':>8}{'batches/s':>11}{'ratio':>8}{'p25':>8}{'p75':>8}{'share':>8}   (ratio = batches/s over steps/s; target >= 5)")
    for m, s in r["ratio"].items():
        print(f"  {m:<12}{r['median_ms'][m]:>8.2f}{r['batches_per_s'][m]:>11.0f}{s['median']:>8.1f}{s['p25']:>8.1f}{s['p75']:>8.1f}"
              f"{r['batch_share_of_fit_step'][m]:>8.1%}")
    if "records_needing_decode_over_run" in r:
        print(f"  records whose image is decoded for the first time over the config's {r['train_steps']} steps: "
              f"{r['records_needing_decode_over_run']:.1%}")
    print("  one batch, median ms: " + ", ".join(f"{k} {v:.3f}" for k, v in r["breakdown_ms"].items()))


if __name__ == "__main__":
    sys.exit(main())
