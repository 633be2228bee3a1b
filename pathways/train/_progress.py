"""A live progress bar (step, loss, throughput, ETA) that degrades to plain lines off a terminal."""

from __future__ import annotations

import sys

from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.progress import Progress as RichProgress


class Progress:
    def __init__(self, total: int, start: int = 0, *, enabled: bool | None = None, quiet: bool = False):
        self.live = sys.stderr.isatty() if enabled is None else enabled
        self.quiet = quiet
        self.total = total
        self._bar = None
        if self.live:
            self._bar = RichProgress(
                TextColumn("[bold]train"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TextColumn("{task.fields[tps]} tok/s"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                transient=False,
            )
            self._task = self._bar.add_task("train", total=total, completed=start, loss="-", tps="-")

    def __enter__(self):
        if self._bar:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self._bar:
            self._bar.__exit__(*exc)

    def update(self, step: int, loss: float) -> None:
        if self._bar:
            self._bar.update(self._task, completed=step, loss=f"{loss:.4f}")

    def log(self, record: dict) -> None:
        if self._bar:
            self._bar.update(self._task, tps=f"{record['tokens_per_s']:,.0f}")
        elif not self.quiet:
            extra = f" eval_loss {record['eval_loss']:.4f}" if "eval_loss" in record else ""
            print(
                f"step {record['step']}/{self.total}  loss {record['loss']:.4f}  lr {record['lr']:.2e}  "
                f"{record['tokens_per_s']:,.0f} tok/s{extra}",
                flush=True,
            )
