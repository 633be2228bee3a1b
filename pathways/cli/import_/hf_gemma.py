"""`pathways import hf-gemma DIR --out CHECKPOINT`: the older name of `pathways import hf`."""

from __future__ import annotations

from pathways.cli.import_ import hf


def register(sub) -> None:
    hf.register(sub, "hf-gemma", help="import a Hugging Face Gemma checkpoint (the older name of `pathways import hf`)")
