"""`pathways data ...`: datasets and the curation pipeline, one module per subcommand."""

from __future__ import annotations

import importlib

SUBCOMMANDS = ("list", "show", "curate", "train_classifier")


def register(sub) -> None:
    p = sub.add_parser(
        "data",
        help="datasets and data curation (list, show, curate, train-classifier)",
        description="Inspect registered datasets and run the data-curation pipeline.",
    )
    group = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"pathways.cli.data.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pathways.cli.data.{name}":
                raise
            continue  # not written yet
        module.register(group)
