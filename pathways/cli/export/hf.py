"""`pathways export hf CHECKPOINT --out DIR`: a Pathways checkpoint as a Hugging Face directory."""

from __future__ import annotations

import argparse
import re

UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


def size(text: str) -> int:
    """`5GB`, `500MB`, `2GiB` or a plain byte count."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", text, re.IGNORECASE)
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (e.g. 5GB, 500MB, 2GiB)")
    return int(float(m.group(1)) * UNITS[(m.group(2) or "").upper()])


def register(sub) -> None:
    p = sub.add_parser(
        "hf",
        help="export a checkpoint (Gemma 1/2/3, SigLIP, PaliGemma, Gemma 3 vision) as a Hugging Face directory (from_pretrained loads it)",
        description="Write CHECKPOINT (a checkpoint or run directory of a graph `pathways import hf` writes: "
        "token_embedding -> gemma_decoder -> tied lm_head, a lone siglip_encoder, or those joined by a projector and "
        "early_fusion) as a Hugging Face directory: config.json of the family its pathways and options call for "
        "(gemma, gemma2, gemma3_text, siglip_vision_model, paligemma, gemma3), safetensors weights in HF's names and "
        "layouts (sharded past --max-shard-size, with an index), and tokenizer.model when the checkpoint has one. "
        "An adapter (LoRA) checkpoint is merged first. --out must not exist.",
    )
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="Pathways checkpoint or run directory")
    p.add_argument("--out", required=True, metavar="DIR", help="directory for the Hugging Face files (must not exist)")
    p.add_argument("--max-shard-size", type=size, default=5 * 10**9, metavar="SIZE", help="largest safetensors file before splitting into shards (default 5GB)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.interop import export_hf

    print(f"wrote {export_hf(args.checkpoint, args.out, max_shard_bytes=args.max_shard_size)}")
    return 0
