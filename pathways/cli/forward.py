"""`pathways forward CONFIG`: build a model and run one jitted forward pass on a synthetic batch."""

from __future__ import annotations

import time

from pathways.cli._output import console, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "forward",
        help="initialise a model and run one forward pass on a synthetic batch",
        description="Validate CONFIG, initialise its parameters, and run one jit-compiled forward pass on a "
        "synthetic batch shaped by the config's `batch` and `dims` (normal floats, token ids in [1, 32), "
        "True masks). Prints each output's shape and statistics; exits 1 if any output is not finite.",
    )
    p.add_argument("config", help="YAML config file")
    p.add_argument("--seed", type=int, default=0, help="seed for parameters and the batch (default 0)")
    p.add_argument("--no-preflight", action="store_true", help="skip the check that the estimated memory fits the devices")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    import pathways
    from pathways.graph import build, random_batch
    from pathways.plan import preflight

    graph = pathways.validate(args.config)
    if not args.no_preflight:
        preflight(graph, "forward")
    key = jax.random.key(args.seed)
    model = build(graph, key)
    batch = random_batch(graph, jax.random.fold_in(key, 1))
    step = eqx.filter_jit(lambda m, b: m(b))
    t0 = time.perf_counter()
    out = jax.block_until_ready(step(model, batch))
    t1 = time.perf_counter()
    jax.block_until_ready(step(model, batch))
    t2 = time.perf_counter()
    stats = {
        name: {
            "shape": list(v.shape),
            "dtype": str(v.dtype),
            "mean": float(jnp.mean(v)),
            "std": float(jnp.std(v)),
            "finite": bool(jnp.all(jnp.isfinite(v))),
        }
        for name, v in out.items()
    }
    ok = all(s["finite"] for s in stats.values())
    if args.json:
        print_json({"outputs": stats, "compile_and_run_s": t1 - t0, "run_s": t2 - t1, "finite": ok})
    else:
        console.print(f"[bold]{graph.loaded.spec.name}[/bold]: forward pass in {t2 - t1:.3f}s (first call with compile {t1 - t0:.1f}s)")
        for name, s in stats.items():
            dims = ",".join(map(str, s["shape"]))
            flag = "" if s["finite"] else "  [red]NOT FINITE[/red]"
            console.print(f"  {name:<24} [{dims}] {s['dtype']}  mean {s['mean']:+.4f}  std {s['std']:.4f}{flag}")
    return 0 if ok else 1
