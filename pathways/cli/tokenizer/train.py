"""`pathways tokenizer train --input FILE... --vocab-size N --out PREFIX`: train a SentencePiece model."""

from __future__ import annotations

import argparse

from pathways._errors import Problem
from pathways.cli._args import number, positive_int


def register(group) -> None:
    from pathways.data import DEFAULTS

    defaults = "\n".join(f"  {k}={v}" for k, v in DEFAULTS.items())
    p = group.add_parser(
        "train",
        help="train a SentencePiece tokenizer on text files",
        description="Train a SentencePiece tokenizer with Gemma-like defaults: unigram, byte fallback (no "
        "input is ever unknown), digits split, no normalization (decode(encode(x)) == x), and ids 0 pad, "
        "1 bos, 2 eos, 3 unk. Each line of each input file is one training sentence; CRLF line ends and a "
        "BOM are dropped. Writes PREFIX.model and PREFIX.vocab.",
        epilog=f"defaults, each a SentencePiece trainer flag (change one with --option KEY=VALUE):\n{defaults}\n\n"
        "example:\n  pathways tokenizer train --input pathways/data/files/botchan.txt --vocab-size 2000 --out runs/tok/botchan",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--input", nargs="+", action="extend", required=True, metavar="FILE", help="UTF-8 text file(s), one sentence or paragraph a line")
    p.add_argument("--vocab-size", type=positive_int, required=True, metavar="N", help="number of pieces, specials and 256 byte pieces included")
    p.add_argument("--out", required=True, metavar="PREFIX", help="output path without extension (directories are created)")
    p.add_argument("--model-type", choices=("unigram", "bpe", "char", "word"), help=f"segmentation model (default {DEFAULTS['model_type']})")
    p.add_argument("--character-coverage", type=number(low=0, high=1, low_open=True), metavar="F", help=f"share of characters the vocab covers; the rest fall back to bytes (default {DEFAULTS['character_coverage']})")
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE", help="any other SentencePiece trainer flag, e.g. --option split_digits=false (repeatable)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.data import TokenizerError, load_tokenizer, train_sentencepiece

    overrides = {}
    for option in args.option:
        key, eq, value = option.partition("=")
        if not eq or not key:
            raise TokenizerError([Problem("--option", f"{option!r} is not KEY=VALUE")])
        overrides[key.strip().replace("-", "_")] = value
    if args.model_type is not None:
        overrides["model_type"] = args.model_type
    if args.character_coverage is not None:
        overrides["character_coverage"] = args.character_coverage
    model = train_sentencepiece(args.input, args.vocab_size, args.out, **overrides)
    tok = load_tokenizer(str(model))
    print(f"wrote {model}")
    print(f"wrote {model.with_suffix('.vocab')}")
    print(f"vocab size {tok.vocab_size} (pad {tok.pad_id}, bos {tok.bos_id}, eos {tok.eos_id}, unk {tok.unk_id}), sha256 {tok.sha256}")
    return 0
