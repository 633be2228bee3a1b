"""`pathways plan CONFIG`: FLOPs, compute-optimal data, memory per chip and training time."""

from __future__ import annotations

import argparse
import math

from rich.table import Table

from pathways.cli._args import number, positive_int
from pathways.cli._output import console, human, print_json

SUFFIXES = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12, "P": 1e15}


def count(text: str) -> float:
    """`2e12`, `2T`, `20B`, `1.5M` -> a number."""
    t = text.strip().upper()
    scale = SUFFIXES.get(t[-1:], 1)
    try:
        value = float(t[:-1] if t[-1:] in SUFFIXES else t) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (e.g. 2e12, 2T, 20B)") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


def register(sub) -> None:
    from pathways.plan import CHIPS

    p = sub.add_parser(
        "plan",
        help="FLOPs per token, Chinchilla-optimal data, memory per chip and training time (abstract)",
        description="Plan training a config without allocating it: parameters (embedding / non-embedding) and "
        "training/inference FLOPs per token for each pathway, compute-optimal tokens (Hoffmann et al. 2022), "
        "an inference-aware optimum (Sardana & Frankle 2023), memory per chip under a data/fsdp/tensor mesh "
        "and days at a given MFU. Run length: --tokens, --compute, or by default Chinchilla-optimal.",
    )
    p.add_argument("config", help="YAML config file")
    p.add_argument("--chip", default="tpu-v5p", help=f"accelerator ({', '.join(CHIPS)}; default tpu-v5p)")
    p.add_argument("--chips", type=positive_int, help="number of chips (default: the mesh's size, or 1)")
    p.add_argument("--mesh", help="data=N,fsdp=N,tensor=N (missing axes are 1; default: all chips data-parallel)")
    run_len = p.add_mutually_exclusive_group()
    run_len.add_argument("--compute", type=count, metavar="FLOPS", help="training budget in FLOPs (e.g. 1e24)")
    run_len.add_argument("--tokens", type=count, metavar="N", help="training tokens (e.g. 2T)")
    p.add_argument("--inference-tokens", type=count, metavar="N", help="expected tokens served: adds the inference-aware optimum")
    p.add_argument("--mfu", type=number(low=0, high=1, low_open=True), default=0.4, help="model FLOPs utilisation (default 0.4)")
    p.add_argument("--seq-len", type=positive_int, metavar="T", help="decoder positions per sequence (default: from the config's dims)")
    p.add_argument("--batch", type=positive_int, metavar="N", help="global batch in sequences (default: one per data x fsdp shard)")
    p.add_argument("--json", action="store_true", help="print JSON instead of tables")
    p.set_defaults(func=run)


def run(args) -> int:
    import pathways
    from pathways.plan import compute_plan

    report = compute_plan(
        pathways.validate(args.config),
        chip=args.chip,
        chips=args.chips,
        mesh=args.mesh,
        compute=args.compute,
        tokens=args.tokens,
        inference_tokens=args.inference_tokens,
        mfu=args.mfu,
        seq_len=args.seq_len,
        batch=args.batch,
    )
    if args.json:
        print_json(report)
    else:
        show(report)
    return 0


def _f(x: float) -> str:
    return f"{x:.3g}"


def _bytes(x: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if x >= scale:
            return f"{x / scale:.2f} {unit}"
    return f"{x:.0f} B"


def _duration(seconds: float) -> str:
    for unit, scale, above in (("days", 86400, 2 * 86400), ("hours", 3600, 2 * 3600), ("minutes", 60, 120)):
        if seconds >= above:
            return f"{seconds / scale:.1f} {unit}"
    return f"{seconds:.1f} seconds"


def show(r: dict) -> None:
    seq, params, fpt = r["sequence"], r["params"], r["flops_per_token"]
    console.print(
        f"{r['name']} ({r['config']}): {human(params['total'])} parameters "
        f"({human(params['embedding'])} embedding, {human(params['non_embedding'])} non-embedding); "
        f"tokens are the {seq['length']} positions of {seq['decoder']!r}"
    )
    table = Table(title="FLOPs per token (a decoder position) and per own token (one the pathway processes)")
    for col in ("pathway", "type", "params", "embedding", "tokens/ex.", "fwd/own token", "train/token", "infer/token"):
        table.add_column(col, justify="left" if col in ("pathway", "type") else "right", no_wrap=True)
    for name, p in r["pathways"].items():
        est = " (est.)" if p["estimated"] else ""
        table.add_row(
            name, p["type"], human(p["params"]), human(p["embedding_params"]), str(p["tokens_per_example"]),
            _f(p["forward_flops_per_own_token"]) + est, _f(p["training_flops_per_token"]), _f(p["inference_flops_per_token"]),
        )
    table.add_section()
    table.add_row("total", "", human(params["total"]), human(params["embedding"]), "", "", _f(fpt["training"]), _f(fpt["inference"]))
    console.print(table)

    t, ch = r["training"], r["chinchilla"]
    a1, a3 = ch["approach_1"], ch["approach_3"]
    console.print(
        f"training:   {human(t['tokens'])} tokens ({t['tokens_from']}): {_f(t['flops'])} FLOPs counted, "
        f"{_f(t['flops_6nd'])} as 6ND; predicted loss {t['predicted_loss']:.3f} (approach 3)"
    )
    console.print(f"chinchilla: approach 1 (Table 3): {human(a1['tokens'])} tokens for this size ({a1['tokens_per_param']:.1f} per parameter)")
    console.print(
        f"            approach 3 (parametric) for {_f(a3['compute'])} FLOPs: {human(a3['params'])} parameters, "
        f"{human(a3['tokens'])} tokens ({a3['tokens_per_param']:.0f} per parameter), loss {a3['loss']:.3f}"
    )
    inf = r["inference_optimal"]
    if inf is not None:
        o, c = inf["optimal"], inf["chinchilla"]
        console.print(
            f"inference:  serving {human(inf['inference_tokens'])} tokens at loss {inf['target_loss']:.3f}: "
            f"{human(o['params'])} parameters on {human(o['tokens'])} tokens, {_f(o['total_flops'])} FLOPs in all, vs "
            f"Chinchilla's {human(c['params'])} on {human(c['tokens'])}, {_f(c['total_flops'])} "
            f"({inf['total_flops_saved']:.1%} saved; Sardana & Frankle 2023)"
        )
    hw, mem, mesh = r["hardware"], r["memory_per_chip"], r["hardware"]["mesh"]
    console.print(
        f"time:       {_duration(r['time']['seconds'])} on {hw['chips']} x {hw['chip']} "
        f"({hw['peak_flops'] / 1e12:.0f} TFLOP/s bf16 peak) at {hw['mfu']:.0%} MFU"
    )
    mtable = Table(
        title=f"memory per chip: mesh data={mesh['data']}, fsdp={mesh['fsdp']}, tensor={mesh['tensor']}; "
        f"{mem['micro_batch']} x {seq['length']} tokens per chip, {mem['compute_dtype']} compute"
    )
    mtable.add_column("", no_wrap=True)
    mtable.add_column("no remat", justify="right")
    mtable.add_column("full remat", justify="right")
    for key in ("params_fp32", "params_compute_copy", "fsdp_gather_buffer", "gradients_fp32", "adamw_moments_fp32", "logits_fp32"):
        mtable.add_row(key.replace("_", " "), _bytes(mem[key]), _bytes(mem[key]))
    mtable.add_row("activations", _bytes(mem["activations"]), _bytes(mem["activations_remat"]))
    mtable.add_row(
        "  per token per decoder layer",
        f"{mem['activations_per_token_per_layer']:,.0f} B",
        f"{mem['activations_per_token_per_layer_remat']:,.0f} B",
    )
    mtable.add_section()
    fits = lambda ok: "fits" if ok else "does not fit"  # noqa: E731
    mtable.add_row(
        f"total (of {_bytes(hw['hbm_bytes'])})",
        f"{_bytes(mem['total'])}, {fits(mem['fits'])}",
        f"{_bytes(mem['total_remat'])}, {fits(mem['fits_remat'])}",
    )
    console.print(mtable)
