"""Shared by `train` and `finetune`: output directory rules and running a prepared run."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pathways._errors import PathwaysError, Problem

if TYPE_CHECKING:
    from pathways.train import Overrides


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
    if args.overwrite and init_from is not None:
        base = Path(init_from).resolve()
        if base == out.resolve() or out.resolve() in base.parents:
            raise PathwaysError([Problem("--from", f"lies inside --out {out}, which --overwrite would replace: write the new run elsewhere", init_from)])
    if not (args.resume or args.overwrite):
        raise PathwaysError([Problem("--out", "already holds a run: pass --resume to continue it or --overwrite to replace it", str(out))])


def _replace(out: Path) -> None:
    """Remove the old run only now that the new one is set up (renamed first, so a crash leaves no half run)."""
    for stale in out.parent.glob(f".{out.name}.replaced-*"):  # a crash during an earlier removal
        shutil.rmtree(stale, ignore_errors=True)
    doomed = out.with_name(f".{out.name}.replaced-{os.getpid()}")
    out.rename(doomed)
    shutil.rmtree(doomed)


def execute(args, overrides: Overrides, *, init_from: str | None = None) -> int:
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
    run, trainable, opt_state, start = prepare(
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
    print_counts(run)
    if start:
        print(f"resuming from {resume_from} at step {start}")
    result = fit(run, trainable, opt_state, start, out, progress=False if args.no_progress else None)
    loss = f"{result.first_loss:.4f} -> {result.last_loss:.4f}" if result.first_loss is not None else "no steps run"
    print(f"done: {result.steps} steps, loss {loss}; checkpoint {result.checkpoint}", file=sys.stdout)
    return 0
