"""`pathways tokenizer encode MODEL [TEXT] [--json]`: text to token ids."""

from __future__ import annotations

import sys
from pathlib import Path

from pathways.cli._output import print_json

MODEL_HELP = "`bytes` (the byte tokenizer) or a SentencePiece .model file"


def register(group) -> None:
    p = group.add_parser(
        "encode",
        help="encode text into token ids",
        description="Encode TEXT (or standard input, less one trailing newline) into token ids, printed on "
        "one line, with bos and eos around them as the model sees them in training.",
    )
    p.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    p.add_argument("text", nargs="?", metavar="TEXT", help="text to encode (default: read standard input)")
    p.add_argument("--no-bos", dest="bos", action="store_false", help="leave out the bos id")
    p.add_argument("--no-eos", dest="eos", action="store_false", help="leave out the eos id")
    p.add_argument("--json", action="store_true", help='print {"ids": [...], "pieces": [...]}')
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.data import load_tokenizer, pieces

    tok = load_tokenizer(args.model, Path.cwd())
    text = args.text
    if text is None:
        text = sys.stdin.read()
        if text.endswith("\n"):
            text = text[:-1].removesuffix("\r")
    ids = tok.encode(text, bos=args.bos, eos=args.eos)
    if args.json:
        print_json({"ids": ids, "pieces": pieces(tok, ids)})
    else:
        print(" ".join(map(str, ids)))
    return 0
