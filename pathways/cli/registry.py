"""`pathways registry [--write | --check]`: the checked-in catalog `registry.yaml`."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def register(sub) -> None:
    p = sub.add_parser(
        "registry",
        help="print, write or check the component catalog (registry.yaml)",
        description="Render the catalog of registered components (name, kind, plugin, ports). "
        "With --write, save it; with --check, exit 1 if the file differs from what plugins register.",
    )
    p.add_argument("--path", default="registry.yaml", help="catalog file (default: registry.yaml)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--write", action="store_true", help="write the catalog to --path")
    mode.add_argument("--check", action="store_true", help="exit 1 if --path is out of date")
    p.set_defaults(func=run)


def render() -> str:
    from pathways.plugins import HEADER, catalog, component_registry

    return HEADER + yaml.safe_dump(catalog(component_registry()), sort_keys=False, width=100, allow_unicode=True)


def run(args) -> int:
    text = render()
    path = Path(args.path)
    if args.write:
        path.write_text(text)
        print(f"wrote {path}")
    elif args.check:
        if not path.exists() or path.read_text() != text:
            print(f"{path} is out of date: run `pathways registry --write`", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
    else:
        sys.stdout.write(text)
    return 0
