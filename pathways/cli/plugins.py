"""`pathways plugins [--json]`: every registered component, its kind and its plugin."""

from __future__ import annotations

from rich.table import Table

from pathways.cli._output import console, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "plugins",
        help="list registered components and the plugins providing them",
        description="List every registered component with its kind and providing plugin. Built-in "
        "components are plugins too; installed packages add theirs through the `pathways` entry-point group.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.plugins import component_registry, get_plugin_manager

    pm = get_plugin_manager()
    registry = component_registry()
    components = [{"name": e.name, "kind": e.cls.kind, "plugin": e.plugin} for e in registry]
    plugins = [{"name": name, "module": getattr(plugin, "__name__", repr(plugin))} for name, plugin in pm.list_name_plugin()]
    if args.json:
        print_json({"components": components, "plugins": plugins})
        return 0
    table = Table(title="components")
    for col in ("name", "kind", "plugin"):
        table.add_column(col)
    for c in components:
        table.add_row(c["name"], c["kind"], c["plugin"])
    console.print(table)
    return 0
