"""`pathways export hf CHECKPOINT --out DIR`: a Pathways Gemma checkpoint as a Hugging Face directory."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "hf",
        help="export a Gemma 1/2/3 text checkpoint as a Hugging Face directory (from_pretrained loads it)",
        description="Write CHECKPOINT (a checkpoint or run directory of a token_embedding -> gemma_decoder -> tied "
        "lm_head graph) as a Hugging Face directory: config.json of the family its options call for (gemma, "
        "gemma2, gemma3_text), model.safetensors in HF's names and layouts, and tokenizer.model when the "
        "checkpoint has one. An adapter (LoRA) checkpoint is merged first. --out must not exist.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="Pathways checkpoint or run directory")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the Hugging Face files (must not exist)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.interop import export_hf

    print(f"wrote {export_hf(args.checkpoint, args.out)}")
    return 0
