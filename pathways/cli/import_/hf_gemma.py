"""`pathways import hf-gemma DIR --out CHECKPOINT`: a Hugging Face Gemma checkpoint as a Pathways checkpoint."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "hf-gemma",
        help="import a Hugging Face Gemma (GemmaForCausalLM) checkpoint",
        description="Read a Hugging Face Gemma checkpoint directory (config.json, model.safetensors or shards "
        "with model.safetensors.index.json, optional tokenizer.model) and write a Pathways checkpoint "
        "(token_embedding + gemma_decoder + tied lm_head with the checkpoint's dimensions, float32 weights). "
        "Every HF tensor must be used and none may be missing. No torch needed.",
    )
    p.add_argument("hf_dir", metavar="DIR", help="Hugging Face checkpoint directory (e.g. a save_pretrained or hub snapshot)")
    p.add_argument("--out", required=True, metavar="CHECKPOINT", help="directory for the Pathways checkpoint")
    p.add_argument("--target", metavar="CONFIG", help="Pathways config whose parameter shapes the import must match (e.g. examples/presets/gemma-2b.yaml)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.interop import import_hf_gemma

    print(f"wrote {import_hf_gemma(args.hf_dir, args.out, target=args.target)}")
    return 0
