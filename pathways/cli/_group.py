"""Command groups (`pathways data ...`): a subparser whose subcommands are modules of a package."""

from __future__ import annotations

import importlib


def add_group(sub, name: str, package: str, modules: tuple[str, ...], *, help: str, description: str, metavar: str = "SUBCOMMAND"):
    """Add `pathways NAME` with one subcommand per module of `package` (each defines `register(group)`)."""
    p = sub.add_parser(name, help=help, description=description)
    group = p.add_subparsers(dest=f"{name}_command", required=True, metavar=metavar)
    for module in modules:
        importlib.import_module(f"{package}.{module}").register(group)
    return p
