"""`pathways tokenizer ...`: train and use SentencePiece tokenizers, one module per subcommand."""

from __future__ import annotations

from pathways.cli._group import add_group

SUBCOMMANDS = ("train", "encode", "decode", "stats")


def register(sub) -> None:
    add_group(
        sub,
        "tokenizer",
        __name__,
        SUBCOMMANDS,
        help="train and use SentencePiece tokenizers (train, encode, decode, stats)",
        description="Train a SentencePiece tokenizer with Gemma-like defaults, and encode or decode text with one.",
    )
