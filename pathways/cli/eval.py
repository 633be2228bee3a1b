"""`pathways eval CHECKPOINT --tasks NAME[,NAME...]`: score a checkpoint on registered evaluation tasks."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from pathways.cli._args import positive_int
from pathways.cli._output import console, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="score a checkpoint on evaluation tasks (see `pathways tasks`)",
        description="Load CHECKPOINT (a checkpoint or run directory) and score it on each task: multiple choice "
        "by log-likelihood (acc, acc_norm), greedy generation with the task's metrics, classification through a "
        "classifier head, or perplexity. Every task is checked against the model (inputs it needs, heads) "
        "before any runs. Prints a table of task, metric, value and n; --out writes the results as JSON.",
    )
    p.add_argument("checkpoint", help="checkpoint or run directory")
    p.add_argument("--tasks", required=True, help="comma-separated task names (`pathways tasks` lists them)")
    p.add_argument("--limit", type=positive_int, help="score at most N examples per task (the first N)")
    p.add_argument("--batch-size", type=positive_int, default=16, help="sequences per forward pass (default 16)")
    p.add_argument("--out", type=Path, help="write the results to this JSON file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def _value(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def run(args) -> int:
    from pathways.evaluate import EvalModel, get_task, run_tasks

    names = [t.strip() for t in args.tasks.split(",") if t.strip()]
    for name in names:  # unknown names fail before the checkpoint is loaded
        get_task(name)
    model = EvalModel.from_checkpoint(args.checkpoint)
    rows = [r.to_dict() for r in run_tasks(model, names, limit=args.limit, batch_size=args.batch_size)]
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
    if args.json:
        print_json(rows)
        return 0
    ident = model.identity
    table = Table(title=f"{ident['checkpoint']} (step {ident['step']}, config {ident['config_sha256']})")
    for col, justify in (("task", "left"), ("kind", "left"), ("metric", "left"), ("value", "right"), ("n", "right"), ("skipped", "right")):
        table.add_column(col, justify=justify)
    for r in rows:
        table.add_row(r["task"], r["kind"], r["metric"], _value(r["value"]), str(r["n"]), str(r["skipped"]))
    console.print(table)
    return 0
