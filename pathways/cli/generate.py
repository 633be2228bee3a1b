"""`pathways generate CHECKPOINT --prompt TEXT`: decode text with a key/value cache."""

from __future__ import annotations

import argparse

from pathways.cli._args import nonnegative_float, number, positive_int
from pathways.cli._output import print_json


def register(sub) -> None:
    p = sub.add_parser(
        "generate",
        help="generate text from a checkpoint (KV-cache decoding; image/audio prompts)",
        description="Load CHECKPOINT (a checkpoint or run directory; LoRA checkpoints bring their base) and "
        "continue each --prompt. The whole prompt, modality prefix included, is prefilled in one pass, then "
        "tokens are decoded one at a time with a key/value cache. Greedy by default; --temperature > 0 samples, "
        "optionally restricted by --top-k / --top-p. Images are resized (bilinear) to the image encoder's size; "
        "audio must be a PCM WAV at the audio encoder's sample rate, no longer than its input.",
    )
    p.add_argument("checkpoint", help="checkpoint or run directory")
    p.add_argument("--prompt", action="append", required=True, help="prompt text (repeat for a batch)")
    p.add_argument("--image", action="append", help="image file for the prompt(s) (one, or one per prompt); same as --input image=FILE")
    p.add_argument("--audio", action="append", help="WAV file for the prompt(s) (one, or one per prompt); same as --input audio=FILE")
    p.add_argument(
        "--input",
        action="append",
        type=_media_arg,
        metavar="MODALITY=FILE",
        help="a file for any modality the model reads (a plugin's `video`, say), read by the encoder that declares it; repeat per prompt",
    )
    p.add_argument("--max-new-tokens", type=positive_int, default=32, help="tokens to generate (default 32)")
    p.add_argument("--temperature", type=nonnegative_float, default=0.0, help="0 is greedy (default)")
    p.add_argument("--top-k", type=positive_int, help="sample among the k likeliest tokens")
    p.add_argument("--top-p", type=number(low=0, high=1, low_open=True), help="sample among the likeliest tokens covering probability p")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--no-preflight", action="store_true", help="skip the check that the estimated memory fits the devices")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def _media_arg(text: str) -> tuple[str, str]:
    modality, sep, path = text.partition("=")
    if not sep or not modality.isidentifier() or not path:
        raise argparse.ArgumentTypeError(f"expected MODALITY=FILE (e.g. image=cat.png), got {text!r}")
    return modality, path


def run(args) -> int:
    from pathways.generate import GenerateError, Generator, Sampling

    try:
        sampling = Sampling(args.temperature, args.top_k, args.top_p)
    except ValueError as exc:
        raise GenerateError(str(exc)) from None
    gen = Generator.from_checkpoint(args.checkpoint, check_memory=not args.no_preflight)
    files: dict[str, list[str]] = {}
    for modality, path in [*(("image", f) for f in args.image or ()), *(("audio", f) for f in args.audio or ()), *(args.input or ())]:
        files.setdefault(modality, []).append(path)
    media = {m: paths[0] if len(paths) == 1 else paths for m, paths in files.items()}
    out = gen.generate(args.prompt, media=media, max_new_tokens=args.max_new_tokens, sampling=sampling, seed=args.seed)
    if args.json:
        print_json([{"prompt": p, "completion": g.text, "tokens": g.tokens} for p, g in zip(args.prompt, out)])
    else:
        for p, g in zip(args.prompt, out):
            print(f"{p}{g.text}")
    return 0
