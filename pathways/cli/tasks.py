"""`pathways tasks [--json]`: every registered evaluation task, its kinds, inputs and plugin."""

from __future__ import annotations

from rich.table import Table

from pathways.cli._output import console, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "tasks",
        help="list registered evaluation tasks",
        description="List every evaluation task `pathways eval --tasks` accepts: its kinds, the inputs it needs, "
        "its metrics and the plugin providing it. Installed packages add tasks through the `pathways_register_tasks` hook.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.plugins import task_registry

    tasks = [
        {
            "name": e.name,
            "kinds": list(e.cls.kinds()),
            "needs": sorted(e.cls.needs),
            "metrics": list(e.cls.metrics) if "generation" in e.cls.kinds() else [],
            "plugin": e.plugin,
            "description": e.cls.describe(),
        }
        for e in task_registry()
    ]
    if args.json:
        print_json(tasks)
        return 0
    table = Table(title="evaluation tasks")
    for col in ("name", "kinds", "needs", "metrics", "description"):
        table.add_column(col)
    for t in tasks:
        metrics = ", ".join(t["metrics"]) or "-"
        table.add_row(t["name"], ", ".join(t["kinds"]), ", ".join(t["needs"]) or "-", metrics, t["description"])
    console.print(table)
    return 0
