"""`pathways diff CKPT_A CKPT_B [--json]`: which pathways changed between two checkpoints."""

from __future__ import annotations

from pathways.cli._output import print_json


def register(sub) -> None:
    p = sub.add_parser(
        "diff",
        help="compare two checkpoints pathway by pathway",
        description="For each pathway: how many parameters changed between checkpoint A and B and the largest "
        "absolute change. After `finetune --pathway X`, only X should show changes.",
    )
    p.add_argument("a", help="checkpoint or run directory")
    p.add_argument("b", help="checkpoint or run directory")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathways.train import diff_checkpoints

    rows = diff_checkpoints(args.a, args.b)
    if args.json:
        print_json(rows)
        return 0
    print(f"{'pathway':<16} {'params':>10} {'changed':>10} {'max |change|':>13}")
    for name, r in rows.items():
        note = f"  (only in {r['only_in']})" if "only_in" in r else ("  (shape changed)" if r.get("shape_changed") else "")
        status = "changed" if r["changed"] else "identical"
        print(f"{name:<16} {r['params']:>10,} {r['changed']:>10,} {r['max_abs_change']:>13.3g}  {status}{note}")
    return 0
