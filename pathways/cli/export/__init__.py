"""`pathways export ...`: write a Pathways checkpoint in another framework's format, one module per format."""

from __future__ import annotations

from pathways.cli._group import add_group

SUBCOMMANDS = ("hf",)


def register(sub) -> None:
    add_group(
        sub,
        "export",
        __name__,
        SUBCOMMANDS,
        help="write a Pathways checkpoint in another framework's format (hf)",
        description="Write a Pathways checkpoint as a checkpoint another framework loads.",
        metavar="FORMAT",
    )
