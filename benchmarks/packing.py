"""Sequence packing against padded batches: real tokens per row and step time per real token.

    .venv/bin/python benchmarks/packing.py [--rounds 15] [--steps 3] [--json PATH]

Both runs are examples/packed_prose.yaml (English sentences of 7 to 256 bytes, rows of
256 byte tokens, batch 8, a 2-layer d=64 decoder); the padded one sets `packing: false`
and drops the segment fields, so each row holds one sentence. Each is prepared through
`pathways.train.prepare`, compiled and warmed up, then timed in interleaved rounds (order
flipped every round); the figure is the median over rounds of the per-round ratio of
step time per real token. Real tokens per row are counted over one epoch of each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax
import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pathways.train import prepare  # noqa: E402


def configs(folder: Path) -> dict[str, Path]:
    packed = yaml.safe_load((ROOT / "examples/packed_prose.yaml").read_text())
    padded = yaml.safe_load((ROOT / "examples/packed_prose.yaml").read_text())
    padded["data"]["packing"] = False
    for name in ("segment_ids", "positions"):
        del padded["batch"][name]
        del padded["pathways"]["decoder"]["inputs"][name]
    del padded["train"]["losses"][0]["segment_ids"]
    out = {}
    for name, cfg in (("packed", packed), ("padded", padded)):
        out[name] = folder / f"{name}.yaml"
        out[name].write_text(yaml.safe_dump(cfg, sort_keys=False))
    return out


def real_share(run) -> float:
    """Share of non-padding tokens over one epoch of batches."""
    real = total = 0
    for step in range(run.batcher.per_epoch):
        tokens = run.batcher.batch_at(step)["tokens"]
        real += int((tokens != 0).sum())
        total += tokens.size
    return real / total


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runs = {name: prepare(path, check_memory=False) for name, path in configs(Path(tmp)).items()}
    share = {name: real_share(run) for name, (run, _) in runs.items()}
    states, batches = {}, {}
    for name, (run, state) in runs.items():
        batches[name] = [run.batch(i) for i in range(args.steps)]
        trainable, opt_state, _ = run.step_fn(state.trainable, state.frozen, state.opt_state, batches[name][0])  # compile
        states[name] = jax.block_until_ready((trainable, state.frozen, opt_state))

    def timed(name: str) -> float:
        run, (trainable, frozen, opt_state) = runs[name][0], states[name]
        start = time.perf_counter()
        for b in batches[name]:  # the step donates its weights and optimizer state: thread them through
            trainable, opt_state, _ = run.step_fn(trainable, frozen, opt_state, b)
        jax.block_until_ready((trainable, opt_state))
        states[name] = (trainable, frozen, opt_state)
        return (time.perf_counter() - start) / args.steps

    ratios, times = [], {"packed": [], "padded": []}
    for r in range(args.rounds):
        order = ["packed", "padded"] if r % 2 == 0 else ["padded", "packed"]
        t = {name: timed(name) for name in order}
        for name in t:
            times[name].append(t[name])
        per_token = {name: t[name] / share[name] for name in t}  # seconds per step per real-token share: same row count
        ratios.append(per_token["padded"] / per_token["packed"])
    q = np.percentile(ratios, [25, 50, 75])
    result = {
        "real_tokens_per_row": {k: round(v, 4) for k, v in share.items()},
        "efficiency_factor": round(share["packed"] / share["padded"], 3),
        "step_time_per_real_token_speedup": {"median": round(float(q[1]), 3), "p25": round(float(q[0]), 3), "p75": round(float(q[2]), 3)},
        "step_ms_median": {k: round(1000 * statistics.median(v), 2) for k, v in times.items()},
        "rounds": args.rounds,
        "steps": args.steps,
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
