#!/usr/bin/env python
"""Multiple-choice evaluation throughput by batch size (see benchmarks/README.md, "Evaluation throughput").

Scores `commonsense_mc` (four choices per question, so four sequences per example)
with `pathways.evaluate`'s log-likelihood runner on a small model, at several
batch sizes (sequences per forward pass), and reports examples per second.

The model is examples/translation.yaml as shipped (byte vocabulary, width 64, 2
decoder layers, context T=64), randomly initialised: throughput does not depend on
the weights. With --vqa, examples/vqa.yaml on the `vqa` task's multiple choice
(13 answers per question, a 64-patch image prefix) is measured too.

Each batch size is compiled and warmed up first (compile time is reported
separately); then every round scores the same examples once at each batch size, in
rotating order, and the median over rounds is reported with the 25th/75th percentiles.

    python benchmarks/eval_throughput.py                    # ~1-2 min on 2 busy cores
    python benchmarks/eval_throughput.py --quick            # smoke run
    python benchmarks/eval_throughput.py --vqa --json out.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import jax

import pathways
from pathways.evaluate import EvalModel, get_task
from pathways.evaluate._loglik import continuation, multiple_choice

ROOT = Path(__file__).resolve().parent.parent


def model(example: str) -> EvalModel:
    graph = pathways.validate(ROOT / "examples" / example)
    return EvalModel(pathways.build(graph, jax.random.key(0)), graph, graph.tokenizer)


def timed(em: EvalModel, task, examples, batch_size: int) -> float:
    start = time.perf_counter()
    multiple_choice(em, task, examples, batch_size)  # returns host floats: every batch has finished
    return time.perf_counter() - start


def measure(em: EvalModel, task_name: str, n: int, batch_sizes: list[int], rounds: int) -> dict:
    task = get_task(task_name)
    lengths = lambda e: [len(continuation(em.tokenizer, e["prompt"], c, task.separator)[0]) for c in e["choices"]]  # noqa: E731
    examples = []  # the first n whose every choice fits the context, so each has all its sequences
    for e in task.examples(None):
        if max(lengths(e)) <= em.context:
            examples.append(e)
        if len(examples) == n:
            break
    choices = sum(len(e["choices"]) for e in examples)
    first = {b: timed(em, task, examples, b) for b in batch_sizes}  # compiles each batch shape
    times: dict[int, list[float]] = {b: [] for b in batch_sizes}
    for r in range(rounds):
        order = batch_sizes[r % len(batch_sizes) :] + batch_sizes[: r % len(batch_sizes)]
        for b in order:
            times[b].append(timed(em, task, examples, b))
    width = max(max(lengths(e)) for e in examples)
    out = {"task": task_name, "examples": len(examples), "sequences": choices, "context": em.context, "width": width, "batch_sizes": {}}
    for b in batch_sizes:
        rates = sorted(len(examples) / t for t in times[b])
        q = statistics.quantiles(rates, n=4) if len(rates) > 1 else [rates[0]] * 3
        out["batch_sizes"][b] = {
            "examples_per_s": statistics.median(rates),
            "p25": q[0],
            "p75": q[2],
            "first_call_s": first[b],
            "median_s": statistics.median(times[b]),
        }
    return out


def report(result: dict) -> None:
    base = result["batch_sizes"][min(result["batch_sizes"])]["examples_per_s"]
    print(f"\n{result['task']}: {result['examples']} examples, {result['sequences']} sequences padded to {result['width']} tokens (context {result['context']})")
    print(f"{'batch':>6} {'examples/s':>11} {'[p25, p75]':>18} {'x batch 1':>10} {'first call s':>13}")
    for b, r in result["batch_sizes"].items():
        spread = f"[{r['p25']:.1f}, {r['p75']:.1f}]"
        print(f"{b:>6} {r['examples_per_s']:>11.1f} {spread:>18} {r['examples_per_s'] / base:>10.2f} {r['first_call_s']:>13.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--examples", type=int, default=64, help="questions scored per measurement (default 64)")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds per batch size (default 5)")
    p.add_argument("--batch-sizes", default="1,8,32", help="comma-separated (default 1,8,32)")
    p.add_argument("--vqa", action="store_true", help="also measure examples/vqa.yaml on the vqa task's multiple choice")
    p.add_argument("--quick", action="store_true", help="16 examples, 2 rounds")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args()
    n, rounds = (16, 2) if args.quick else (args.examples, args.rounds)
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    results = [measure(model("translation.yaml"), "commonsense_mc", n, sizes, rounds)]
    report(results[-1])
    if args.vqa:
        results.append(measure(model("vqa.yaml"), "vqa", n, sizes, rounds))
        report(results[-1])
    meta = {"jax": jax.__version__, "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()], "python": platform.python_version()}
    if args.json:
        args.json.write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
