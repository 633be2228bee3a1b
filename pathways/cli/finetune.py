"""`pathways finetune CONFIG --pathway NAME --from CKPT --out RUN_DIR`: train one pathway, freeze the rest."""

from __future__ import annotations

from pathways.cli._runs import add_run_arguments, execute


def register(sub) -> None:
    p = sub.add_parser(
        "finetune",
        help="fine-tune only the named pathways from a checkpoint; the rest stays frozen",
        description="Load CKPT into CONFIG's graph (which may differ: pathways in both load, new trained "
        "pathways start fresh), freeze every pathway but the --pathway ones, and train those only: frozen "
        "pathways get no gradients, no optimizer state and stay bit-identical. With --lora-rank, train "
        "low-rank adapters on the one named pathway instead of its weights.",
    )
    add_run_arguments(p)
    p.add_argument("--pathway", action="append", required=True, metavar="NAME", help="pathway to train (repeatable)")
    p.add_argument("--from", dest="init_from", required=True, metavar="CKPT", help="checkpoint or run directory to start from")
    p.add_argument("--lora-rank", type=int, metavar="R", help="train rank-R LoRA adapters on the pathway instead of its weights")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.train import Overrides

    overrides = Overrides(steps=args.steps, lr=args.lr, trainable=args.pathway, lora_rank=args.lora_rank)
    return execute(args, overrides, init_from=args.init_from)
