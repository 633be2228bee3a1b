"""`pathways import ...`: convert other frameworks' checkpoints, one module per source format.

The package is `import_` because `import` is a Python keyword; the command is `pathways import`.
"""

from __future__ import annotations

import importlib

SUBCOMMANDS = ("hf_gemma",)


def register(sub) -> None:
    p = sub.add_parser(
        "import",
        help="convert another framework's checkpoint into a Pathways checkpoint (hf-gemma)",
        description="Convert a checkpoint written by another framework into a Pathways checkpoint directory.",
    )
    group = p.add_subparsers(dest="import_command", required=True, metavar="FORMAT")
    for name in SUBCOMMANDS:
        importlib.import_module(f"pathways.cli.import_.{name}").register(group)
