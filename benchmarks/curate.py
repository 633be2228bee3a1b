#!/usr/bin/env python
"""Curation throughput of the default filter chain, with 1 and 2 worker processes (see benchmarks/README.md).

The corpus is generated: documents of 4-16 sentences drawn at random from
Natsume's *Botchan* (pathways/data/files/botchan.txt), plus injected exact
duplicates, near-duplicates (a few words changed), junk (too short, bullet
lists, number tables, repeated lines, spam phrases) and non-English documents.
Each round runs `pathways.curate.curate_files` once per worker count, alternating the
order; the figure reported is the median over rounds. Outputs must be
byte-identical across worker counts (checked).

    python benchmarks/curate.py                        # 20k documents, 3 rounds, workers 1 and 2
    python benchmarks/curate.py --docs 2000 --rounds 1 # smoke run
    python benchmarks/curate.py --json /tmp/curate.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path


def make_corpus(path: Path, n: int, seed: int = 0) -> dict[str, int]:
    """Write `n` JSON lines to `path`; returns how many of each kind."""
    from pathways.data._sentencepiece import SAMPLES
    from pathways.data.prose import paragraphs, sentences

    rng = random.Random(seed)
    pool = [s for p in paragraphs()[1:] for s in sentences(p)]
    foreign = [v for k, v in SAMPLES.items() if not k.endswith("-en")]
    kinds = dict.fromkeys(("original", "exact_copy", "near_copy", "junk", "foreign"), 0)
    originals: list[str] = []
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            r = rng.random()
            if originals and r < 0.08:
                kind, text = "exact_copy", rng.choice(originals)
            elif originals and r < 0.16:
                words = rng.choice(originals).split()
                for _ in range(max(1, len(words) // 60)):
                    words[rng.randrange(len(words))] = rng.choice(["indeed", "perhaps", "certainly", "quite"])
                kind, text = "near_copy", " ".join(words)
            elif r < 0.26:
                kind = "junk"
                text = rng.choice(
                    [
                        lambda: rng.choice(pool),
                        lambda: "\n".join("• " + rng.choice(pool) for _ in range(12)),
                        lambda: "\n".join(" | ".join(str(rng.randrange(10**6)) for _ in range(8)) for _ in range(10)),
                        lambda: "\n".join([rng.choice(pool)] * 8 + [" ".join(rng.sample(pool, 4))]),
                        lambda: " ".join(rng.sample(pool, 6)) + " Buy viagra now, act now: casino bonus and free spins!",
                    ]
                )()
            elif r < 0.28:
                kind, text = "foreign", " ".join(rng.choice(foreign) for _ in range(3))
            else:
                kind, text = "original", " ".join(rng.sample(pool, rng.randint(4, 16)))
                originals.append(text)
            kinds[kind] += 1
            f.write(json.dumps({"id": f"doc-{i}", "text": text, "source": "botchan", "kind": kind}, ensure_ascii=False) + "\n")
    return kinds


def filter_costs(path: Path, sample: int = 2000) -> dict[str, float]:
    """Microseconds per document of each default filter alone, in this process (stateful: prepare + admit)."""
    from pathways.curate import load_chain
    from pathways.curate._jsonl import parse_line

    docs = []
    with open(path, "rb") as f:
        for _, raw in zip(range(sample), f):
            docs.append(parse_line(raw)[0])
    out = {}
    chain = load_chain()
    for step, filt in zip(chain.steps, chain.build()):
        copies = [dict(d) for d in docs]
        start = time.perf_counter()
        for d in copies:
            filt.keep(d)
        out[step.name] = round((time.perf_counter() - start) / len(copies) * 1e6, 1)
    start = time.perf_counter()
    with open(path, "rb") as f:
        for _, raw in zip(range(sample), f):
            json.dumps(parse_line(raw)[0], ensure_ascii=False)
    out["json parse + dump"] = round((time.perf_counter() - start) / sample * 1e6, 1)
    return out


def _burn(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i
    return total


def parallel_probe(pool, n: int = 3_000_000) -> float:
    """How much faster 2 processes do 2 units of pure-Python work than 1 process right now:
    the most any 2-worker scaling can show on this (shared) machine at this moment."""
    start = time.perf_counter()
    _burn(n)
    _burn(n)
    one = time.perf_counter() - start
    start = time.perf_counter()
    list(pool.map(_burn, [n, n]))
    return one / (time.perf_counter() - start)


def machine() -> dict[str, str]:
    import numpy

    model = "?"
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "nproc": str(os.cpu_count()),
        "cpu": model,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args()

    from pathways.curate import curate_files

    results: dict = {"machine_before": machine(), "command": " ".join([Path(sys.executable).name, *sys.argv])}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        corpus = tmp / "corpus.jsonl"
        results["corpus"] = {"documents": args.docs, **make_corpus(corpus, args.docs), "megabytes": round(corpus.stat().st_size / 1e6, 2)}
        print(f"corpus: {results['corpus']}", file=sys.stderr)
        results["filter_us_per_doc"] = filter_costs(corpus)
        print(f"per-filter cost (us/doc, one process): {results['filter_us_per_doc']}", file=sys.stderr)
        probes: list[float] = []
        probe_pool = concurrent.futures.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
        list(probe_pool.map(_burn, [1, 1]))  # start both processes
        timings: dict[int, list[float]] = {w: [] for w in args.workers}
        cpu: dict[int, list[float]] = {w: [] for w in args.workers}
        main_cpu_2: list[float] = []
        outputs: dict[int, bytes] = {}
        report = None
        for r in range(args.rounds):
            probes.append(parallel_probe(probe_pool))
            print(f"round {r + 1}: 2 processes do {probes[-1]:.2f}x the work of 1 (pure-Python probe)", file=sys.stderr)
            for w in args.workers if r % 2 == 0 else args.workers[::-1]:
                out = tmp / f"out{w}.jsonl"
                start = time.perf_counter()
                report = curate_files(corpus, out, workers=w)
                timings[w].append(time.perf_counter() - start)
                cpu[w].append(report["timing"]["cpu_seconds_main"] + report["timing"]["cpu_seconds_workers"])
                if w == 2:
                    main_cpu_2.append(report["timing"]["cpu_seconds_main"])
                outputs[w] = out.read_bytes()
                main_cpu, load = report["timing"]["cpu_seconds_main"], os.getloadavg()[0]
                wall = timings[w][-1]
                line = f"round {r + 1}, {w} worker(s): {wall:.2f}s wall, {cpu[w][-1]:.2f}s CPU (main {main_cpu:.2f}s), load {load:.2f}"
                print(line, file=sys.stderr)
        probes.append(parallel_probe(probe_pool))
        probe_pool.shutdown()
        assert len(set(outputs.values())) == 1, "outputs differ between worker counts"
        mb = results["corpus"]["megabytes"]
        results["runs"] = {
            w: {
                "seconds_median": round(statistics.median(t), 2),
                "seconds_all": [round(x, 2) for x in t],
                "docs_per_second": round(args.docs / statistics.median(t)),
                "mb_per_second": round(mb / statistics.median(t), 3),
                "cpu_seconds_median": round(statistics.median(cpu[w]), 2),
            }
            for w, t in timings.items()
        }
        results["probe_2_over_1"] = {"median": round(statistics.median(probes), 2), "all": [round(p, 2) for p in probes]}
        if 1 in timings and 2 in timings:
            results["scaling_2_over_1"] = round(statistics.median(timings[1]) / statistics.median(timings[2]), 2)
            results["scaling_per_round"] = [round(a / b, 2) for a, b in zip(timings[1], timings[2])]
            # What 2 idle cores would give, from CPU time: the busier of main and the average worker.
            cpu2 = statistics.median(cpu[2])
            main2 = statistics.median(main_cpu_2)
            results["cpu_bound_scaling_estimate"] = round(statistics.median(cpu[1]) / max(main2, (cpu2 - main2) / 2), 2)
        results["kept"] = report["kept"]
        kept_kinds = [json.loads(line)["kind"] for line in outputs[args.workers[0]].decode().splitlines()]
        results["kept_by_kind"] = {k: kept_kinds.count(k) for k in ("original", "exact_copy", "near_copy", "junk", "foreign")}
        results["per_filter"] = {f["name"]: {"dropped": f["dropped"], "reasons": f["reasons"]} for f in report["filters"]}
    results["machine_after"] = machine()
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
