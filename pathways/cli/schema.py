"""`pathways schema`: the JSON Schema of config files, for editors and CI."""

from __future__ import annotations

from pathways.cli._output import print_json


def register(sub) -> None:
    p = sub.add_parser(
        "schema",
        help="print the JSON Schema of config files",
        description="Print the JSON Schema of config files, including each registered component's config "
        "(selected by `type`). Point your editor's YAML language server at it.",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.plugins import snapshot

    print_json(snapshot()["schema"])
    return 0
