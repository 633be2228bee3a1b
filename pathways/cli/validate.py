"""`pathways validate CONFIG`: check a config end to end without allocating parameters."""

from __future__ import annotations

from pathways.cli._output import human, shape


def register(sub) -> None:
    p = sub.add_parser(
        "validate",
        help="check a config (types, edges, cycles, shapes) without allocating it",
        description="Check a config: component types and configs, edges, cycles and every edge's "
        "shape and dtype (by abstract evaluation). Exit 0 with a summary, or exit 2 with one line per problem.",
    )
    p.add_argument("configs", nargs="+", metavar="CONFIG", help="YAML config file(s)")
    p.set_defaults(func=run)


def run(args) -> int:
    import pathways

    problems = []
    for config in args.configs:
        try:
            show(config)
        except pathways.PathwaysError as exc:
            problems += exc.problems
    if problems:
        raise pathways.ConfigError(problems)
    return 0


def show(config: str) -> None:
    import pathways
    from pathways.graph import summarize

    graph = pathways.validate(config)
    info = summarize(graph)
    print(f"{config}: valid: {info['name']}, {len(info['pathways'])} pathways, {human(info['total_params'])} parameters")
    for name, field in info["batch"].items():
        print(f"  batch.{name:<16} {shape(field)}")
    for name, p in info["pathways"].items():
        wiring = graph.nodes[name].wiring
        ins = ", ".join(f"{k}={'+'.join(v) if isinstance(v, tuple) else v}" for k, v in wiring.items())
        print(f"  {name:<22} {p['type']:<20} {human(p['params']):>7}  {ins}")
    print("  outputs: " + ", ".join(f"{o} {shape(info['pathways'][o.split('.')[0]]['outputs'][o.split('.', 1)[1]])}" for o in info["outputs"]))
