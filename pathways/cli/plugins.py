"""`pathways plugins [--json]`: every registered component, its kind, roles and plugin, and any broken one.
`pathways plugins new NAME`: scaffold a plugin package."""

from __future__ import annotations

import sys

from pathways.cli._output import console, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "plugins",
        help="list registered components and the plugins providing them",
        description="List every registered component with its kind, roles and providing plugin. Built-in "
        "components are plugins too; installed packages add theirs through the `pathways` entry-point group. "
        "Each component is also run abstractly (jax.eval_shape) on inputs shaped by its ports: one whose "
        "outputs break its ports is reported here, before a config uses it. The answer is cached per "
        "environment (see PATHWAYS_CACHE_DIR), so it comes without importing JAX.",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    new = actions.add_parser(
        "new",
        help="scaffold a plugin package (installable, with a component, a dataset, a task and passing tests)",
        description="Write the package pathways-NAME: pyproject.toml with the `pathways` entry point, "
        "src/pathways_NAME/ with a component, a dataset, an evaluation task, their hook implementations and "
        "an example config, and tests written with pathways.testing. `pip install -e 'pathways-NAME[test]'` "
        "then `pytest` passes as generated. Nothing existing is overwritten.",
    )
    new.add_argument("name", help="plugin name: lowercase letters, digits and _ (the package is pathways-NAME)")
    new.add_argument("--dir", default=".", help="where to create it (default: the current directory)")
    new.set_defaults(func=run_new)


def run_new(args) -> int:
    from pathways.plugins import new_plugin

    root = new_plugin(args.name, args.dir)
    print(f"created {root}: next, `pip install -e '{root}[test]'`, then `pytest {root}` and `pathways plugins`")
    return 0


def run(args) -> int:
    from rich.table import Table

    from pathways.plugins import snapshot

    data = snapshot()
    broken = [c for c in data["components"] if c["problem"]]
    if args.json:
        print_json({k: data[k] for k in ("components", "plugins", "warnings")})
    else:
        table = Table(title="components")
        for col in ("name", "kind", "roles and media", "plugin"):
            table.add_column(col)
        for c in data["components"]:
            declared = [*c["roles"], *(f"{port}: {modality}" for port, modality in c["media"].items())]
            table.add_row(c["name"], c["kind"], ", ".join(declared), c["plugin"] + (" (broken)" if c["problem"] else ""))
        console.print(table)
    for c in broken:
        print(f"error: component {c['name']!r} (plugin {c['plugin']}): {c['problem']}", file=sys.stderr)
    return 1 if broken else 0
