"""`pathways train CONFIG --out RUN_DIR`: train a composed model on the config's dataset."""

from __future__ import annotations

from pathways.cli._runs import add_run_arguments, execute


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on the dataset its config names",
        description="Train CONFIG on the dataset of its `data` section with the settings of its `train` "
        "section. Writes RUN_DIR/metrics.jsonl and atomic checkpoints under RUN_DIR/checkpoints. "
        "Ctrl-C saves a checkpoint and exits 130; --resume continues exactly where it stopped.",
    )
    add_run_arguments(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.train import Overrides

    return execute(args, Overrides(steps=args.steps, lr=args.lr))
