"""`pathways data curate INPUT --out OUTPUT --report REPORT [--filters F.yaml] [--workers N] [--strict] [--json]`."""

from __future__ import annotations

import sys

from rich.table import Table

from pathways.cli._args import positive_int
from pathways.cli._output import console, print_json

SHOWN_MALFORMED = 5


def register(group) -> None:
    p = group.add_parser(
        "curate",
        help="filter a JSON Lines corpus through a chain of quality, safety and dedup filters",
        description="Stream INPUT (JSON Lines with a `text` field, `.gz` too) through a filter chain and write "
        "the kept documents, all their fields unchanged, to OUTPUT, with a JSON report of what each filter saw, "
        "kept and dropped, and why. Without --filters the chain is language_id, gopher_quality, blocklist, "
        "exact_dedup, minhash_dedup. See docs/curation.md.",
    )
    p.add_argument("input", metavar="INPUT.jsonl", help="documents, one JSON object per line")
    p.add_argument("--out", required=True, metavar="OUTPUT.jsonl", help="kept documents (written atomically)")
    p.add_argument("--report", required=True, metavar="REPORT.json", help="per-filter counts, reasons and examples")
    p.add_argument("--filters", metavar="FILTERS.yaml", help="the chain: a YAML list of {type, config} entries")
    p.add_argument("--workers", type=positive_int, default=1, metavar="N", help="processes for the stateless filters (default 1)")
    p.add_argument("--chunk-size", type=positive_int, default=256, metavar="LINES", help="lines per task sent to a worker (default 256)")
    p.add_argument("--strict", action="store_true", help="a malformed line is an error (default: skip and report it)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.curate import curate_files, load_chain

    chain = load_chain(args.filters)
    report = curate_files(
        args.input,
        args.out,
        args.report,
        chain=chain,
        workers=args.workers,
        strict=args.strict,
        chunk_size=args.chunk_size,
        progress=sys.stderr.isatty(),
    )
    for bad in report["malformed"][:SHOWN_MALFORMED]:
        print(f"warning: {args.input}:{bad['line']}: malformed line skipped: {bad['error']}", file=sys.stderr)
    more = report["lines"]["malformed"] - min(len(report["malformed"]), SHOWN_MALFORMED)
    if more:
        print(f"warning: ... and {more} more malformed lines (see {args.report})", file=sys.stderr)
    if args.json:
        print_json(report)
        return 0
    table = Table(title=f"curation of {args.input}")
    for col, justify in (("#", "right"), ("filter", "left"), ("seen", "right"), ("dropped", "right"), ("kept", "right"), ("top reasons", "left")):
        table.add_column(col, justify=justify)
    for i, f in enumerate(report["filters"]):
        reasons = ", ".join(f"{r} {n:,}" for r, n in list(f["reasons"].items())[:3])
        table.add_row(str(i + 1), f["name"], f"{f['seen']:,}", f"{f['dropped']:,}", f"{f['kept']:,}", reasons)
    console.print(table)
    n, kept, t = report["documents"], report["kept"], report["timing"]
    share = f" ({kept / n:.1%})" if n else ""
    console.print(
        f"kept {kept:,} of {n:,} documents{share}; {report['lines']['malformed']:,} malformed lines skipped; "
        f"{t['seconds']:.1f}s, {t['documents_per_second'] or 0:,.0f} docs/s, {t['mb_per_second'] or 0:.2f} MB/s "
        f"with {report['workers']} worker(s)"
    )
    console.print(f"wrote {args.out} and {args.report}")
    return 0
