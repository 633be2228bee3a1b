"""Shared by `train` and `finetune`: output directory rules and running a prepared run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from pathways._errors import PathwaysError, Problem
from pathways.parallel import Cluster, initialize
from pathways.train import Overrides, fit, list_checkpoints, prepare, print_counts


def add_run_arguments(p) -> None:
    p.add_argument("config", help="YAML config with `data` and `train` sections")
    p.add_argument("--out", required=True, help="run directory (metrics.jsonl, checkpoints/)")
    p.add_argument("--steps", type=int, help="override train.steps")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="continue the run in --out from its newest checkpoint")
    mode.add_argument("--overwrite", action="store_true", help="delete an existing run in --out first")
    p.add_argument("--no-progress", action="store_true", help="plain log lines instead of a live progress bar")
    dist = p.add_argument_group("multi-process (jax.distributed); also from PATHWAYS_COORDINATOR, PATHWAYS_NUM_PROCESSES, PATHWAYS_PROCESS_ID")
    dist.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0 (every process gives the same)")
    dist.add_argument("--num-processes", type=int, metavar="N", help="processes in the run")
    dist.add_argument("--process-id", type=int, metavar="I", help="this process, 0..N-1; process 0 writes the run directory")
    dist.add_argument("--coordinator-timeout", type=int, metavar="S", help="seconds to wait for the others (default 60)")


def execute(args, overrides: Overrides, *, init_from: str | None = None) -> int:
    cluster = Cluster.from_args(args.coordinator, args.num_processes, args.process_id, args.coordinator_timeout)
    if cluster is not None:
        initialize(cluster)  # before any other JAX call
    out = Path(args.out)
    resume_from = None
    follower = cluster is not None and cluster.process_id != 0  # process 0 owns the run directory
    if follower:
        if args.resume:
            resume_from = list_checkpoints(out / "checkpoints")[-1]
    elif out.exists() and any(out.iterdir()):
        if args.overwrite:
            shutil.rmtree(out)
        elif args.resume:
            found = list_checkpoints(out / "checkpoints")
            if not found:
                raise PathwaysError([Problem("--resume", "no checkpoint to resume from", str(out))])
            resume_from = found[-1]
        else:
            raise PathwaysError([Problem("--out", "already holds a run: pass --resume to continue it or --overwrite to replace it", str(out))])
    elif args.resume:
        raise PathwaysError([Problem("--resume", "no run to resume", str(out))])
    run, trainable, opt_state, start = prepare(args.config, overrides, init_from=init_from, resume_from=resume_from)
    for note in run.notes:
        print(f"note: {note}")
    print_counts(run)
    if start:
        print(f"resuming from {resume_from} at step {start}")
    result = fit(run, trainable, opt_state, start, out, progress=False if args.no_progress else None)
    loss = f"{result.first_loss:.4f} -> {result.last_loss:.4f}" if result.first_loss is not None else "no steps run"
    print(f"done: {result.steps} steps, loss {loss}; checkpoint {result.checkpoint}", file=sys.stdout)
    return 0
