"""`pathways import hf DIR --out CHECKPOINT`: a Hugging Face checkpoint, its family read from config.json."""

from __future__ import annotations


def register(sub, name: str = "hf", help: str = "import a Hugging Face checkpoint (Gemma 1/2/3, SigLIP, PaliGemma, Gemma 3 vision), detecting the family from config.json") -> None:
    p = sub.add_parser(
        name,
        help=help,
        description="Read a Hugging Face checkpoint directory (config.json, model.safetensors or shards with "
        "model.safetensors.index.json, optional tokenizer.model), detect the family from config.json's "
        "model_type (gemma, gemma2, gemma3_text, gemma3, paligemma, siglip, siglip_vision_model) and write "
        "a Pathways checkpoint whose config composes the matching pathways (text, image, projector, fusion, "
        "decoder, lm_head) with the checkpoint's exact dimensions and options (sliding-window pattern, "
        "soft-capping, QK-norm, RoPE bases and scaling), weights streamed tensor by tensor (widened to float32 unless --dtype keep). Every HF "
        "tensor must be used and none may be missing; --out must not exist. No torch needed.",
    )
    p.add_argument("hf_dir", metavar="DIR", help="Hugging Face checkpoint directory (e.g. a save_pretrained or hub snapshot)")
    p.add_argument("--out", required=True, metavar="CHECKPOINT", help="directory for the Pathways checkpoint (must not exist)")
    p.add_argument("--target", metavar="CONFIG", help="Pathways config whose parameter shapes the import must match")
    p.add_argument(
        "--dtype", choices=("float32", "keep"), default="float32",
        help="float32 (default): widen bfloat16/float16 weights to float32; keep: store them as the checkpoint does (half the size)",
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.interop import import_hf

    print(f"wrote {import_hf(args.hf_dir, args.out, target=args.target, dtype=args.dtype)}")
    return 0
