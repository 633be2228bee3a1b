"""`pathways tokenizer ...`: train and use SentencePiece tokenizers, one module per subcommand."""

from __future__ import annotations

import importlib

SUBCOMMANDS = ("train", "encode", "decode", "stats")


def register(sub) -> None:
    p = sub.add_parser(
        "tokenizer",
        help="train and use SentencePiece tokenizers (train, encode, decode, stats)",
        description="Train a SentencePiece tokenizer with Gemma-like defaults, and encode or decode text with one.",
    )
    group = p.add_subparsers(dest="tokenizer_command", required=True, metavar="SUBCOMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"pathways.cli.tokenizer.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pathways.cli.tokenizer.{name}":
                raise
            continue  # not written yet
        module.register(group)
