"""`pathways lora-merge CKPT --out DIR`: fold LoRA adapters into the base weights."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "lora-merge",
        help="merge a LoRA checkpoint's adapters into its base weights",
        description="Read a LoRA fine-tune checkpoint (adapters only) and its base checkpoint, fold each "
        "adapter into its layer (W + alpha/rank * A @ B), and write a plain checkpoint to --out.",
    )
    p.add_argument("checkpoint", help="LoRA checkpoint or run directory")
    p.add_argument("--out", required=True, help="directory for the merged checkpoint")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.train import merge_lora

    print(f"wrote {merge_lora(args.checkpoint, args.out)}")
    return 0
