"""`pathways data stats CONFIG`: what a training config's data looks like, before any compute."""

from __future__ import annotations

from pathlib import Path

from pathways.cli._args import positive_int
from pathways.cli._output import console, print_json


def register(group) -> None:
    p = group.add_parser(
        "stats",
        help="records, field types, token lengths and row fill of a config's data",
        description="Open the data a training config names (its `data` section, each source of a mixture) and report "
        "the number of records, the fields of the first records, and for each token field the distribution of "
        "rendered lengths (bos/eos and chat template included) with a histogram, the share truncated by the row, "
        "and how full rows are padded (one example per row) and packed (best-fit-decreasing at the row length).",
    )
    p.add_argument("config", type=Path, help="a training config (YAML) with a data section")
    p.add_argument("--limit", type=positive_int, help="measure only the first N records of each source (default all)")
    p.add_argument("--eval", action="store_true", help="the held-out data (eval_config) instead of the training data")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _sources(batcher) -> list[tuple[str, object]]:
    from pathways.data import MixtureBatcher

    if isinstance(batcher, MixtureBatcher):
        return list(zip(batcher.names, batcher.sources))
    return [(batcher.dataset.type_name, batcher)]


def run(args) -> int:
    from pathways._errors import ConfigError, Problem
    from pathways.config import load_config
    from pathways.data import stats
    from pathways.graph import resolve
    from pathways.train import open_data

    loaded = load_config(args.config)
    if loaded.spec.data is None:
        raise ConfigError([Problem("data", "the config has no data section: nothing to measure", str(args.config))])
    train, held = open_data(loaded, resolve(loaded))
    batcher = held if args.eval else train
    if batcher is None:
        raise ConfigError([Problem("--eval", "the config names no eval_config", str(args.config))])
    report = {name: stats(b, limit=args.limit) for name, b in _sources(batcher)}
    if args.json:
        print_json({"config": str(args.config), "split": "eval" if args.eval else "train", "sources": report})
        return 0
    for name, s in report.items():
        console.print(f"[bold]{name}[/bold]: {s['records']:,} records (measured {s['measured']:,})", markup=True)
        console.print("  fields: " + ", ".join(f"{k} ({t})" for k, t in s["fields"].items()), markup=False)
        for field, t in s["tokens"].items():
            console.print(
                f"  batch.{field}: tokens min {t['min']}, median {t['median']:.0f}, mean {t['mean']:.1f}, p95 {t['p95']:.0f}, max {t['max']}; "
                f"{t['truncated']:.1%} longer than the row of {t['row']}",
                markup=False,
            )
            top = max(h["count"] for h in t["histogram"]) or 1
            for h in t["histogram"]:
                console.print(f"    {h['from']:7.0f} - {h['to']:<7.0f} {h['count']:>8,}  {'#' * round(40 * h['count'] / top)}", markup=False)
            console.print(f"  real tokens per row: {t['fill']['padded']:.1%} padded, {t['fill']['packed']:.1%} packed", markup=False)
    return 0
