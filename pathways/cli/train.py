"""`pathways train CONFIG --out RUN_DIR` and `pathways finetune CONFIG --pathway NAME --from CKPT --out RUN_DIR`.

Both turn their flags into `pathways.train.Overrides`, then `prepare` the run and `fit` it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from pathways._errors import PathwaysError, Problem


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a model on the dataset its config names",
        description="Train CONFIG on the dataset of its `data` section with the settings of its `train` "
        "section. Writes RUN_DIR/metrics.jsonl and atomic checkpoints under RUN_DIR/checkpoints. "
        "Ctrl-C saves a checkpoint and exits 130; --resume continues exactly where it stopped.",
    )
    add_run_arguments(p)
    p.set_defaults(func=run_train)

    p = sub.add_parser(
        "finetune",
        help="fine-tune only the named pathways from a checkpoint; the rest stays frozen",
        description="Load CKPT into CONFIG's graph (which may differ: pathways in both load, new trained "
        "pathways start fresh), freeze every pathway but the --pathway ones, and train those only: frozen "
        "pathways get no gradients, no optimizer state and stay bit-identical. With --adapter (or "
        "--lora-rank), train an adapter's parameters on the named pathways instead of their weights.",
    )
    add_run_arguments(p)
    p.add_argument("--pathway", action="append", required=True, metavar="NAME", help="pathway to train (repeatable): sets train.trainable")
    p.add_argument("--from", dest="init_from", metavar="CKPT", help="checkpoint or run directory to start from (required unless the config has train.init_from)")
    how = p.add_argument_group("adapters: train new parameters around the pathways instead of their weights (sets train.adapter)")
    how.add_argument("--adapter", metavar="TYPE", help="a registered adapter: `lora`, or one a plugin adds (`pathways plugins` lists them)")
    how.add_argument("--adapter-config", action="append", default=[], metavar="KEY=VALUE", help="one adapter setting, VALUE read as YAML (repeatable)")
    how.add_argument("--lora-rank", type=int, metavar="R", help="shorthand for --adapter lora --adapter-config rank=R")
    p.set_defaults(func=run_finetune)


def _key_values(items: list[str]) -> dict:
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise PathwaysError([Problem("--adapter-config", f"{item!r} is not KEY=VALUE (e.g. rank=8)")])
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError:
            out[key] = value
    return out


def run_train(args) -> int:
    from pathways.train import Overrides

    return execute(args, Overrides(steps=args.steps, lr=args.lr))


def run_finetune(args) -> int:
    from pathways.train import Overrides

    overrides = Overrides(
        steps=args.steps, lr=args.lr, trainable=args.pathway, adapter=args.adapter, adapter_config=_key_values(args.adapter_config), lora_rank=args.lora_rank
    )
    if args.init_from is None and not args.resume and not _config_init_sources(args.config):
        raise PathwaysError([Problem("--from", "is required: the checkpoint to fine-tune (or list them in the config's train.init_from)")])
    return execute(args, overrides, init_from=args.init_from)


def _config_init_sources(config: str) -> list[Path]:
    """The checkpoints `train.init_from` names (none if the config does not load: set-up reports that)."""
    from pathways.config import load_config
    from pathways.train import init_sources

    try:
        loaded = load_config(config)
    except PathwaysError:
        return []
    return [path for path, _, _ in init_sources(loaded)] if loaded.spec.train is not None else []


def add_run_arguments(p) -> None:
    p.add_argument("config", help="YAML config with `data` and `train` sections")
    p.add_argument("--out", required=True, help="run directory (metrics.jsonl, checkpoints/)")
    p.add_argument("--steps", type=int, help="override train.steps (a positive integer, as in the config)")
    p.add_argument("--lr", type=float, help="override train.optimizer.lr (a positive finite number, as in the config)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in --out from its newest intact checkpoint")
    mode.add_argument("--overwrite", action="store_true", help="replace the run in --out (only a run, and only once set-up succeeded)")
    p.add_argument(
        "--allow-config-change", action="store_true", help="with --resume: continue although the config changed since the checkpoint"
    )
    p.add_argument("--no-preflight", action="store_true", help="skip the check that the estimated memory fits the devices")
    p.add_argument("--no-progress", action="store_true", help="plain log lines instead of a live progress bar")
    dist = p.add_argument_group("multi-process (jax.distributed); also from PATHWAYS_COORDINATOR, PATHWAYS_NUM_PROCESSES, PATHWAYS_PROCESS_ID")
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0 (every process gives the same)")
    dist.add_argument("--num-processes", type=int, metavar="N", help="processes in the run")
    dist.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1; process 0 writes the run directory")
    dist.add_argument("--coordinator-timeout", type=int, metavar="S", help="seconds to wait for the others (default 60)")


def _check_out(out: Path, args, init_from: str | None) -> None:
    """Refuse an --out that is a file, or a non-empty folder that is not a run, before anything is written."""
    from pathways.train import is_run

    if out.exists() and not out.is_dir():
        raise PathwaysError([Problem("--out", "is a file, not a run directory", str(out))])
    if not out.is_dir() or not any(out.iterdir()):
        if args.resume:
            raise PathwaysError([Problem("--resume", "no run to resume", str(out))])
        return
    if not is_run(out):
        raise PathwaysError([Problem("--out", "is a non-empty folder that is not a Pathways run: it is never written into; choose a new or empty folder", str(out))])
    if args.overwrite:
        sources = [("--from", Path(init_from))] if init_from is not None else []
        sources += [("train.init_from", path) for path in _config_init_sources(args.config)]
        for flag, source in sources:
            base = source.resolve()
            if base == out.resolve() or out.resolve() in base.parents:
                raise PathwaysError([Problem(flag, f"lies inside --out {out}, which --overwrite would replace: write the new run elsewhere", str(source))])
    if not (args.resume or args.overwrite):
        raise PathwaysError([Problem("--out", "already holds a run: pass --resume to continue it or --overwrite to replace it", str(out))])


def _replace(out: Path) -> None:
    """Remove the old run only now that the new one is set up (renamed first, so a crash leaves no half run)."""
    for stale in out.parent.glob(f".{out.name}.replaced-*"):  # a crash during an earlier removal
        shutil.rmtree(stale, ignore_errors=True)
    doomed = out.with_name(f".{out.name}.replaced-{os.getpid()}")
    out.rename(doomed)
    shutil.rmtree(doomed)


def execute(args, overrides, *, init_from: str | None = None) -> int:
    """Set up the run (`pathways.train.prepare`), then train it (`pathways.train.fit`)."""
    from pathways.parallel import Cluster, initialize
    from pathways.train import fit, latest_good, prepare, print_counts

    cluster = Cluster.from_args(args.coordinator, args.num_processes, args.process_id, args.coordinator_timeout)
    if cluster is not None:
        initialize(cluster)  # before any other JAX call
    out = Path(args.out)
    leader = cluster is None or cluster.process_id == 0  # process 0 owns the run directory
    if leader:
        _check_out(out, args, init_from)
    resume_from = None
    if args.resume:
        resume_from, skipped = latest_good(out / "checkpoints")
        for note in skipped if leader else ():
            print(f"note: {note}", file=sys.stderr)
        if resume_from is None:
            raise PathwaysError([Problem("--resume", "no intact checkpoint to resume from", str(out))])
    run, state = prepare(
        args.config,
        overrides,
        init_from=init_from,
        resume_from=resume_from,
        allow_config_change=args.allow_config_change,
        check_memory=not args.no_preflight,
    )
    if leader and args.overwrite and out.is_dir():
        _replace(out)
    for note in run.notes:
        print(f"note: {note}")
    print_counts(run, state)
    if state.step:
        print(f"resuming from {resume_from} at step {state.step}")
    result = fit(run, state, out, progress=False if args.no_progress else None)
    loss = f"{result.first_loss:.4f} -> {result.last_loss:.4f}" if result.first_loss is not None else "no steps run"
    print(f"done: {result.steps} steps, loss {loss}; checkpoint {result.checkpoint}", file=sys.stdout)
    return 0
