"""`pathways data list [--json]`: registered datasets, their plugins, fields and records per split."""

from __future__ import annotations

from rich.table import Table

from pathways.cli._output import console, print_json


def register(group) -> None:
    p = group.add_parser(
        "list",
        help="list registered datasets with their fields and sizes",
        description="List every registered dataset: the plugin providing it, its record fields and the number "
        "of records in each split (default config). Built-in datasets are plugins too.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.data import describe
    from pathways.plugins import dataset_registry

    infos = [describe(entry) for entry in dataset_registry()]
    if args.json:
        print_json({"datasets": infos})
        return 0
    table = Table(title="datasets", show_lines=True)
    for col in ("name", "plugin", "records", "fields"):
        table.add_column(col)
    for d in infos:
        sizes = "\n".join(f"{s}: {'?' if n is None else f'{n:,}'}" for s, n in d["splits"].items())
        if "needs" in d:
            sizes = f"your files (config: {', '.join(d['needs'])})"
        table.add_row(f"{d['name']}\n[dim]{d['description']}[/dim]", d["plugin"], sizes, ", ".join(d["fields"]))
    console.print(table)
    for d in infos:
        if "error" in d:
            console.print(f"[yellow]{d['name']}: {d['error']}[/yellow]")
    return 0
