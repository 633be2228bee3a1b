"""`pathways data show NAME`: a few records of a dataset, with image and audio previews written to files."""

from __future__ import annotations

from pathlib import Path

import yaml

from pathways._errors import ConfigError, Problem
from pathways.cli._args import positive_int
from pathways.cli._output import console, print_json


def register(group) -> None:
    p = group.add_parser(
        "show",
        help="print a few records of a dataset; write image/audio previews",
        description="Print the first records of a registered dataset. With --preview-dir, image fields are "
        "written as a PNG grid and audio fields as WAV files plus a PNG of waveforms and log-mel spectrograms.",
    )
    p.add_argument("name", help="registered dataset name (see `pathways data list`)")
    p.add_argument("--split", help="split to read (default: the dataset's own default, usually train)")
    p.add_argument("-n", type=positive_int, default=4, help="number of records (default 4)")
    p.add_argument("--config", nargs="+", default=[], metavar="KEY=VALUE", help="dataset config fields; values are YAML (e.g. kinds=[months])")
    p.add_argument("--preview-dir", type=Path, help="write PNG/WAV previews of image and audio fields here")
    p.add_argument("--json", action="store_true", help="print JSON (arrays summarised by shape, dtype and range)")
    p.set_defaults(func=run)


def parse_config(items: list[str]) -> dict:
    config = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ConfigError([Problem("--config", f"expected KEY=VALUE, got {item!r}")])
        config[key] = yaml.safe_load(value)
    return config


def _readable(value) -> str:
    from pathways.data import summary

    s = summary(value)
    if isinstance(s, dict):
        rng = f"  {s['min']:.3g} .. {s['max']:.3g}" if "min" in s else f"  {s['true']} true" if "true" in s else ""
        return f"[{', '.join(map(str, s['shape']))}] {s['dtype']}{rng}"
    return repr(s)


def run(args) -> int:
    from pathways.data import open_dataset, summary, write_previews

    config = parse_config(args.config)
    if args.split:
        config["split"] = args.split
    dataset = open_dataset(args.name, config)
    records = [dataset[i] for i in range(min(max(args.n, 0), len(dataset)))]
    stem = f"{args.name}-{dataset.cfg.split}"
    paths = write_previews(dataset, records, args.preview_dir, stem) if args.preview_dir else []
    if args.json:
        print_json(
            {
                "name": args.name,
                "config": dataset.cfg.model_dump(mode="json"),
                "size": len(dataset),
                "records": [{k: summary(v) for k, v in r.items()} for r in records],
                "previews": [str(p) for p in paths],
            }
        )
        return 0
    console.print(f"[bold]{args.name}[/bold] split {dataset.cfg.split}: {len(dataset):,} records", markup=True)
    width = max((len(k) for r in records for k in r), default=0)
    for i, r in enumerate(records):
        console.print(f"#{i}", markup=False)
        for k, v in r.items():
            console.print(f"  {k:<{width}}  {_readable(v)}", markup=False)
    for p in paths:
        console.print(f"wrote {p}", markup=False)
    return 0
