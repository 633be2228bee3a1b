"""Loss curves from `metrics.jsonl`, drawn with matplotlib (headless)."""

from __future__ import annotations

import json
from pathlib import Path

from pathways._errors import PathwaysError, Problem


def read_metrics(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    if not path.exists():
        raise PathwaysError([Problem("", "no metrics.jsonl: not a run directory", str(run))])
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_runs(runs: list[Path], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    for run in runs:
        rows = read_metrics(run)
        line = ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], label=f"{run.name} train")[0]
        evals = [r for r in rows if "eval_loss" in r]
        if evals:
            ax.plot([r["step"] for r in evals], [r["eval_loss"] for r in evals], "o--", color=line.get_color(), label=f"{run.name} held-out")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
