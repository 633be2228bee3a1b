"""`pathways tokenizer stats MODEL [--json]`: vocab size, special ids and tokens per character per script."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from pathways.cli._output import console, print_json
from pathways.cli.tokenizer.encode import MODEL_HELP


def register(group) -> None:
    p = group.add_parser(
        "stats",
        help="vocab size, special ids and tokens per character for each script",
        description="Show a tokenizer's vocab size, special ids and sha256, and how many tokens it spends "
        "per character on sample sentences (UDHR articles 1 and 3) in each script: about 1 means "
        "character by character, 2-3 means byte fallback, well under 1 means the script is learned.",
    )
    p.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.data import SAMPLES, load_tokenizer, tokens_per_char

    tok = load_tokenizer(args.model, Path.cwd())
    ratios = tokens_per_char(tok, SAMPLES)
    info = {
        "tokenizer": tok.name,
        "path": str(getattr(tok, "path", "")) or None,
        "sha256": getattr(tok, "sha256", None),
        "vocab_size": tok.vocab_size,
        "special_ids": {"pad": tok.pad_id, "bos": tok.bos_id, "eos": tok.eos_id, "unk": getattr(tok, "unk_id", None)},
        "tokens_per_char": ratios,
    }
    if args.json:
        print_json(info)
        return 0
    specials = ", ".join(f"{k} {v}" for k, v in info["special_ids"].items() if v is not None)
    print(f"{tok.name}: vocab size {tok.vocab_size} ({specials})" + (f", sha256 {info['sha256']}" if info["sha256"] else ""))
    table = Table(title="tokens per character (UDHR articles 1 and 3)")
    for col, justify in (("script", "left"), ("characters", "right"), ("tokens", "right"), ("tokens/char", "right")):
        table.add_column(col, justify=justify)
    for script, text in SAMPLES.items():
        table.add_row(script, str(len(text)), str(round(ratios[script] * len(text))), f"{ratios[script]:.3f}")
    console.print(table)
    return 0
