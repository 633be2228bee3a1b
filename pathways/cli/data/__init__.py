"""`pathways data ...`: datasets and the curation pipeline, one module per subcommand."""

from __future__ import annotations

from pathways.cli._group import add_group

SUBCOMMANDS = ("list", "show", "stats", "curate", "train_classifier")


def register(sub) -> None:
    add_group(
        sub,
        "data",
        __name__,
        SUBCOMMANDS,
        help="datasets and data curation (list, show, stats, curate, train-classifier)",
        description="Inspect registered datasets and run the data-curation pipeline.",
    )
