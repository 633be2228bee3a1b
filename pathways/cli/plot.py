"""`pathways plot RUN_DIR [RUN_DIR...]`: a PNG of the loss curves in metrics.jsonl."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "plot",
        help="plot loss curves of one or more runs to a PNG",
        description="Read RUN_DIR/metrics.jsonl of each run and draw training loss (and held-out loss where "
        "logged) against step. Writes --out (default: RUN_DIR/loss.png of the first run).",
    )
    p.add_argument("runs", nargs="+", help="run directories")
    p.add_argument("--out", help="PNG file to write")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.train import plot_runs

    out = Path(args.out) if args.out else Path(args.runs[0]) / "loss.png"
    print(f"wrote {plot_runs([Path(r) for r in args.runs], out)}")
    return 0
