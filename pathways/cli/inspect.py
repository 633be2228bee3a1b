"""`pathways inspect CONFIG [--json]`: per-pathway types, parameter counts and output shapes."""

from __future__ import annotations

from rich.table import Table

from pathways.cli._output import console, human, print_json, shape


def register(sub) -> None:
    p = sub.add_parser(
        "inspect",
        help="parameter counts and output shapes per pathway (abstract: any model size)",
        description="Show each pathway's type, kind, providing plugin, parameter count and output shapes, "
        "with totals. Computed with abstract evaluation, so even a 170B-parameter config inspects in seconds.",
    )
    p.add_argument("config", help="YAML config file")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    import pathways
    from pathways.graph import summarize

    info = summarize(pathways.validate(args.config))
    if args.json:
        print_json(info)
        return 0
    table = Table(title=f"{info['name']} ({args.config})")
    for col in ("pathway", "type", "kind", "plugin", "params", "outputs"):
        table.add_column(col, justify="right" if col == "params" else "left", no_wrap=True)
    for name, p in info["pathways"].items():
        outs = "\n".join(f"{k} {shape(v)}" for k, v in p["outputs"].items())
        table.add_row(name, p["type"], p["kind"], p["plugin"], f"{p['params']:,}", outs)
    table.add_section()
    table.add_row("total", "", "", "", f"{info['total_params']:,}", human(info["total_params"]))
    console.print(table)
    return 0
