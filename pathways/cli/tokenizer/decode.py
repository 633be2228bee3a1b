"""`pathways tokenizer decode MODEL IDS...`: token ids to text."""

from __future__ import annotations

from pathlib import Path

from pathways._errors import Problem
from pathways.cli.tokenizer.encode import MODEL_HELP


def register(group) -> None:
    p = group.add_parser(
        "decode",
        help="decode token ids into text",
        description="Decode token ids into text; pad, bos and eos decode to nothing. IDS may be separate "
        "arguments (as `encode` prints them) or a comma-separated or JSON list.",
    )
    p.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("ids", nargs="+", metavar="IDS", help="token ids, e.g. `1 457 12 2` or `[1, 457, 12, 2]`")
    p.set_defaults(func=run)


def parse_ids(args: list[str]) -> list[int]:
    from pathways.data import TokenizerError

    ids, bad = [], []
    for word in " ".join(args).replace(",", " ").replace("[", " ").replace("]", " ").split():
        try:
            ids.append(int(word))
        except ValueError:
            bad.append(word)
    if bad:
        raise TokenizerError([Problem("IDS", f"not integer token ids: {', '.join(map(repr, bad))}")])
    return ids


def run(args) -> int:
    from pathways.data import check_ids, load_tokenizer

    tok = load_tokenizer(args.model, Path.cwd())
    print(tok.decode(check_ids(tok, parse_ids(args.ids))))
    return 0
