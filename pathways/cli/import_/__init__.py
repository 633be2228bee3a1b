"""`pathways import ...`: convert other frameworks' checkpoints, one module per source format.

The package is `import_` because `import` is a Python keyword; the command is `pathways import`.
"""

from __future__ import annotations

from pathways.cli._group import add_group

SUBCOMMANDS = ("hf", "hf_gemma")


def register(sub) -> None:
    add_group(
        sub,
        "import",
        __name__,
        SUBCOMMANDS,
        help="convert another framework's checkpoint into a Pathways checkpoint (hf, hf-gemma)",
        description="Convert a checkpoint written by another framework into a Pathways checkpoint directory.",
        metavar="FORMAT",
    )
