"""kill -9 soak: a training run killed at random moments, many times, some during checkpoint writes, loses nothing.

After every kill the run is resumed as a user would (`--resume`, or `--overwrite`
when it died before its first checkpoint). At the end every checkpoint is whole,
the weights equal an uninterrupted run's bit for bit, and metrics.jsonl has each
step exactly once with the uninterrupted run's losses.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np
import pytest
from trainkit import TINY_TEXT_LM, checkpoint_params, write_config

from pathways.train import is_run, latest_good, list_checkpoints
from pathways.train._checkpoint import problem_with
from tests.forkserver import ForkServer, wait_for

STEPS = 80
KILLS = 20


def _saving(run: Path) -> bool:
    try:
        return any(name.startswith(".tmp-") for name in os.listdir(run / "checkpoints"))
    except FileNotFoundError:
        return False


def _logged(run: Path) -> int:
    try:
        return (run / "metrics.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def _metrics(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing(tmp_path):
    config = write_config(
        tmp_path, "lm.yaml", base=TINY_TEXT_LM, steps=STEPS, log_every=1, checkpoint_every=1, keep_checkpoints=3, schedule={"kind": "constant"}
    )
    server = ForkServer(tmp_path)
    try:
        reference = tmp_path / "reference"
        assert server.wait(server.start("train", config, "--out", reference, "--no-progress")) == {"exit": 0}, server.log.read_text()
        run, rng = tmp_path / "run", random.Random(0)
        kills = during_save = starts = 0
        while True:
            resumable = latest_good(run / "checkpoints")[0] is not None
            mode = ["--resume"] if resumable else ["--overwrite"] if is_run(run) else []
            pid = server.start("train", config, "--out", run, "--no-progress", *mode)
            starts += 1
            if kills < KILLS:
                how = kills % 3
                if how == 0:  # the moment a checkpoint is being written
                    seen = wait_for(lambda: _saving(run), timeout=20)
                elif how == 1:  # anywhere, start-up included
                    time.sleep(rng.uniform(0.05, 1.5))
                    seen = False
                else:  # after a few more steps were logged
                    logged = _logged(run)
                    wait_for(lambda: _logged(run) >= logged + rng.randint(1, 6), timeout=20)
                    seen = _saving(run)
                os.kill(pid, 9)
            result = server.wait(pid)
            if result == {"signal": 9}:
                kills += 1
                during_save += seen
                continue
            assert result == {"exit": 0}, server.log.read_text()[-3000:]
            if kills >= KILLS:
                break
    finally:
        server.close()

    assert kills >= KILLS and during_save >= 5, (kills, during_save)
    log = server.log.read_text()
    assert "Traceback" not in log
    checkpoints = list_checkpoints(run / "checkpoints")
    assert checkpoints and all(problem_with(c) is None for c in checkpoints)
    assert not [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")]  # nothing half-written left
    a, b = checkpoint_params(reference), checkpoint_params(run)
    assert sorted(a) == sorted(b)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    rows, want = _metrics(run), _metrics(reference)
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))  # none missing, none twice
    assert [r["loss"] for r in rows] == [r["loss"] for r in want]
    print(f"{kills} kills ({during_save} during checkpoint writes) over {starts} starts")
