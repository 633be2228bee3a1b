"""`pathways lora-merge CKPT --out DIR`: fold a checkpoint's adapters (LoRA, or a plugin's) into the base weights."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "lora-merge",
        help="merge an adapter checkpoint (LoRA or a plugin's adapter) into its base weights",
        description="Read an adapter fine-tune checkpoint (adapters only) and its base checkpoint, fold each "
        "adapter into its layers with the adapter's own merge (LoRA: W + alpha/rank * A @ B), and write a "
        "plain checkpoint to --out.",
    )
    p.add_argument("checkpoint", help="adapter checkpoint or run directory")
    p.add_argument("--out", required=True, help="directory for the merged checkpoint")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.train import merge_adapters

    print(f"wrote {merge_adapters(args.checkpoint, args.out)}")
    return 0
