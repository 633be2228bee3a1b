"""`pathways data train-classifier --input L.jsonl --out DIR [--text-field] [--label-field] [--epochs] [--buckets]`."""

from __future__ import annotations

import argparse
import sys

from pathways.cli._args import number, positive_float, positive_int
from pathways.cli._output import console, print_json


def buckets(value: str) -> int:
    """`262144` or `2^18`; a power of two."""
    try:
        n = 2 ** int(value[2:]) if value.startswith("2^") else int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if n < 2 or n & (n - 1):
        raise argparse.ArgumentTypeError(f"must be a power of two, got {value}")
    return n


def register(group) -> None:
    p = group.add_parser(
        "train-classifier",
        help="train a hashed n-gram classifier (quality, safety, spam) on labelled JSON Lines",
        description="Train a fastText-style classifier (hashed word uni/bigrams and character 3-5-grams, one linear "
        "layer, Adam in JAX) on labelled JSON Lines and save it to DIR (safetensors + config.json) for the "
        "`classifier` curation filter. A random --holdout share is kept out of training to measure accuracy. "
        "Quality and safety models are the same thing trained on different labels.",
    )
    p.add_argument("--input", required=True, metavar="LABELLED.jsonl", help="one JSON object per line with a text and a label")
    p.add_argument("--out", required=True, metavar="DIR", help="directory to save the model in")
    p.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    p.add_argument("--label-field", default="label", help="field holding the label (default: label)")
    p.add_argument("--epochs", type=positive_int, default=5, help="passes over the training set (default 5)")
    p.add_argument("--buckets", type=buckets, default=2**18, help="hash buckets, a power of two: 262144 or 2^18 (default)")
    p.add_argument("--holdout", type=number(low=0, high=1, high_open=True), default=0.1, help="share of examples held out for accuracy (default 0.1)")
    p.add_argument("--lr", type=positive_float, default=0.05, help="Adam learning rate (default 0.05)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="examples per step (default 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and the shuffling (default 0)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.curate import Features, read_labelled, train_classifier

    texts, labels = read_labelled(args.input, args.text_field, args.label_field)
    model, metrics = train_classifier(
        texts,
        labels,
        features=Features(buckets=args.buckets),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        holdout=args.holdout,
        seed=args.seed,
        log=None if args.json else lambda msg: print(msg, file=sys.stderr),
    )
    model.save(args.out)
    if args.json:
        print_json({"out": args.out, "labels": model.labels, **metrics})
        return 0
    counts = ", ".join(f"{k} {v:,}" for k, v in metrics["label_counts"].items())
    held = metrics["heldout_accuracy"]
    console.print(f"labels: {counts}")
    console.print(f"train accuracy {metrics['train_accuracy']:.4f} ({metrics['train_examples']:,} examples)")
    console.print(
        f"held-out accuracy {held:.4f} ({metrics['heldout_examples']:,} examples)" if held is not None else "held-out accuracy: none held out"
    )
    console.print(f"saved {args.out}/model.safetensors and {args.out}/config.json")
    return 0
