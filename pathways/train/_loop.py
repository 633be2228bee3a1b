"""The training loop: steps, metrics.jsonl, progress, checkpoints, NaN and Ctrl-C handling."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import equinox as eqx
import jax
import numpy as np
import yaml

from pathways._errors import PathwaysError, Problem
from pathways._files import atomic_write_text
from pathways.train import _checkpoint as ckpt
from pathways.train._progress import Progress
from pathways.train._run import Run, TrainState


class TrainingDiverged(PathwaysError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""

    exit_code = 1


class Interrupted(PathwaysError):
    """Ctrl-C: a checkpoint was saved and the run can be resumed."""

    exit_code = 130


@dataclasses.dataclass
class FitResult:
    out: Path
    steps: int
    first_loss: float | None
    last_loss: float | None
    checkpoint: Path | None
    state: TrainState  # where training stopped


class _DeferInterrupt:
    """Ctrl-C during training stops the loop at the next step boundary instead of inside a step.

    A step's inputs are donated to it, so a `KeyboardInterrupt` raised while a step
    runs (mostly while waiting for its loss) would leave no weights to save. A second
    Ctrl-C raises at once. Only the main thread can install signal handlers; elsewhere
    this does nothing.
    """

    def __enter__(self):
        self.requested = False
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step to save a checkpoint (Ctrl-C again to abort)", file=sys.stderr, flush=True)

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _deleted(tree) -> bool:
    """Whether some array of `tree` was donated to a step that did not finish."""
    return any(x.is_deleted() for x in jax.tree.leaves(eqx.filter(tree, eqx.is_array)) if isinstance(x, jax.Array))


class OutOfMemory(PathwaysError):
    """A step needed more device memory than there is; the last good checkpoint is kept."""

    exit_code = 1


def _truncate_metrics(path: Path, after_step: int) -> list[str]:
    """Drop metric lines past `after_step` (work that a resume will redo) and lines a crash tore.

    A kill during an append leaves a partial last line; it is dropped and said once.
    The file is replaced atomically, so a crash here loses nothing either.
    """
    if not path.exists():
        return []
    keep, torn = [], 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
            step = int(record["step"])
        except (ValueError, KeyError, TypeError):
            torn += line.strip() != ""
            continue
        if step <= after_step:
            keep.append(line)
    atomic_write_text(path, "".join(line + "\n" for line in keep))
    return [f"{path}: dropped {torn} torn or unreadable line(s) left by an interrupted write"] if torn else []


def is_run(path: Path) -> bool:
    """Whether `path` is a run directory that `fit` made (it always holds config.yaml and metrics.jsonl)."""
    return (path / "config.yaml").is_file() and (path / "metrics.jsonl").is_file()


def _start_run_dir(out: Path, config_text: str) -> None:
    """Make `out` a run directory in one step: built aside, then renamed into place (onto an empty `out` too).

    A crash therefore leaves either no run or a whole one, never a folder that is
    neither; leftovers of earlier crashes beside `out` are removed.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.new-*"):
        shutil.rmtree(stale, ignore_errors=True)
    tmp = out.parent / f".{out.name}.new-{os.getpid()}"
    tmp.mkdir()
    atomic_write_text(tmp / "config.yaml", config_text)
    atomic_write_text(tmp / "metrics.jsonl", "")
    os.rename(tmp, out)  # replaces an empty directory atomically


def _last_good(out: Path) -> str:
    good, _ = ckpt.latest_good(out / "checkpoints")
    return f"last good checkpoint: {good}" if good else "no checkpoint was saved yet"


def fit(run: Run, state: TrainState, out: Path, *, progress: bool | None = None) -> FitResult:
    """Train from `state.step` to `run.train.steps`, logging to `out/metrics.jsonl` and checkpointing to `out/checkpoints`."""
    primary = jax.process_index() == 0  # in a multi-process run only process 0 writes files
    created = False
    if primary:
        config_text = yaml.safe_dump(run.config(in_checkpoint=False), sort_keys=False)
        if is_run(out):
            atomic_write_text(out / "config.yaml", config_text)
        else:
            _start_run_dir(out, config_text)
            created = True
    try:
        return _fit(run, state, out, progress=progress, primary=primary)
    except BaseException:
        if created and not ckpt.list_checkpoints(out / "checkpoints") and not (out / "metrics.jsonl").read_text().strip():
            shutil.rmtree(out, ignore_errors=True)  # failed before its first step: leave no half-made run behind
        raise


def _fit(run: Run, state: TrainState, out: Path, *, progress: bool | None, primary: bool) -> FitResult:
    train = run.train
    metrics_path = out / "metrics.jsonl" if primary else Path(os.devnull)
    if primary:
        for note in _truncate_metrics(metrics_path, state.step):
            print(f"note: {note}", file=sys.stderr)
    tokens_per_step = int(np.prod(next(iter(run.graph.batch.values())).shape[:1])) * _seq_len(run) * train.grad_accum
    first = last = None
    last_ckpt = None

    def save(state: TrainState) -> Path:
        params, opt_flat = run.saved_params(state), ckpt.flatten(state.opt_state)  # every process joins the gather
        if not primary:
            return out / "checkpoints" / f"step-{state.step:08d}"
        return ckpt.save(
            out / "checkpoints",
            state.step,
            params=params,
            opt_state=opt_flat,
            state=run.checkpoint_state(state),
            config=run.config(in_checkpoint=True),
            keep=train.keep_checkpoints,
            extra=run.extra_files(),
        )

    bar = Progress(total=train.steps, start=state.step, enabled=progress if primary else False, quiet=not primary)
    window_start, window_steps, window_counts = time.perf_counter(), 0, {}
    try:
        with bar, metrics_path.open("a") as log, _DeferInterrupt() as interrupt:
            while state.step < train.steps:
                if interrupt.requested:
                    raise KeyboardInterrupt
                step = state.step
                batch = run.batch(state.data_position)
                for key, v in run.data_counts.items():
                    window_counts[key] = window_counts.get(key, 0.0) + v
                try:
                    new_trainable, new_opt_state, metrics = run.step_fn(state.trainable, state.frozen, state.opt_state, batch)
                    loss = float(metrics["loss"])
                except jax.errors.JaxRuntimeError as exc:
                    if "RESOURCE_EXHAUSTED" not in str(exc):
                        raise
                    first_line = str(exc).strip().splitlines()[0][:200]
                    raise OutOfMemory([Problem("", f"out of device memory at step {step + 1} ({first_line}); stopped ({_last_good(out)})", str(out))]) from None
                grad_norm = float(metrics["grad_norm"])
                problem = (
                    f"loss became {loss}" if not math.isfinite(loss)
                    else f"gradient norm became {grad_norm}" if not math.isfinite(grad_norm)
                    else "the update made parameters non-finite" if not bool(metrics["params_finite"])
                    else None
                )
                if problem:  # the update is not kept: every checkpoint on disk stays finite
                    raise TrainingDiverged([Problem("", f"{problem} at step {step + 1}; stopped ({_last_good(out)})", str(out))])
                state = state.advanced(new_trainable, new_opt_state, train.grad_accum)
                step = state.step
                window_steps += 1
                first = loss if first is None else first
                last = loss
                if step % train.log_every == 0 or step == train.steps:
                    elapsed = time.perf_counter() - window_start
                    record = {
                        "step": step,
                        "loss": loss,
                        "lr": float(run.schedule(step - 1)),
                        "tokens_per_s": tokens_per_step * window_steps / max(elapsed, 1e-9),
                        "grad_norm": grad_norm,
                        **{k: float(v) for k, v in metrics.items() if k.startswith("loss/")},
                        **window_counts,  # the batcher's counts since the last record (a mixture's per source; packing's fill)
                    }
                    if "data/positions" in record:  # packed rows: the share of positions that hold real tokens
                        record["packing_efficiency"] = record["data/real_tokens"] / max(record.pop("data/positions"), 1.0)
                    if train.eval_every and run.eval_batcher and (step % train.eval_every == 0 or step == train.steps):
                        record["eval_loss"] = heldout_loss(run, state)
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    bar.log(record)
                    window_start, window_steps, window_counts = time.perf_counter(), 0, {}
                bar.update(step, loss)
                if step % train.checkpoint_every == 0 or step == train.steps:
                    last_ckpt = save(state)
    except KeyboardInterrupt:
        step = state.step
        if _deleted(state.trainable) or _deleted(state.opt_state):  # aborted inside a step (second Ctrl-C)
            good, _ = ckpt.latest_good(out / "checkpoints")
            where = f"resume from {good} with --resume" if good else "no checkpoint was saved"
            raise Interrupted([Problem("", f"aborted during step {step + 1}: not saved; {where}", str(out))]) from None
        try:
            last_ckpt = save(state)
        except KeyboardInterrupt:  # Ctrl-C again while saving: the half-written checkpoint is never renamed into place
            good, _ = ckpt.latest_good(out / "checkpoints")
            where = f"resume from {good} with --resume" if good else "no checkpoint was saved"
            raise Interrupted([Problem("", f"aborted while saving step {step}: not saved; {where}", str(out))]) from None
        raise Interrupted([Problem("", f"interrupted at step {step}: saved {last_ckpt}; resume with --resume", str(out))]) from None
    return FitResult(out, state.step, first, last, last_ckpt, state)


def heldout_loss(run: Run, state: TrainState, max_batches: int = 8) -> float:
    """Mean loss over the first batches of the held-out split."""
    n = min(max_batches, run.eval_batcher.per_epoch)
    losses = [float(run.eval_fn(state.trainable, state.frozen, run.place(run.eval_batcher.batch_at(i)))) for i in range(n)]
    return float(np.mean(losses))


def _seq_len(run: Run) -> int:
    """Tokens per example for throughput: the last dim of the first integer batch field (1 if none)."""
    for v in run.graph.batch.values():
        if np.issubdtype(v.dtype, np.integer) and len(v.shape) == 2:
            return v.shape[1]
    return 1


def print_counts(run: Run, state: TrainState, file=None) -> None:
    """Trainable vs frozen parameters per pathway (to `file`, default the current `sys.stdout`)."""
    file = sys.stdout if file is None else file
    counts = run.counts(state)
    width = max(len(n) for n in counts)
    print(f"{'pathway':<{width}}  {'trainable':>12}  {'frozen':>12}", file=file)
    for name, (t, f) in counts.items():
        print(f"{name:<{width}}  {t:>12,}  {f:>12,}", file=file)
    tt, ff = sum(t for t, _ in counts.values()), sum(f for _, f in counts.values())
    print(f"{'total':<{width}}  {tt:>12,}  {ff:>12,}", file=file)
