"""Two real processes on the loopback address train one model through jax.distributed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pathways.train import load

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sharded_check import CONFIG  # noqa: E402

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env(devices: int) -> dict:
    return {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}


def pathways_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "pathways", *map(str, args)]


def test_two_processes_train_like_one(tmp_path):
    shutil.copy(ROOT / "examples" / "tokenizers" / "english.model", tmp_path / "english.model")
    single = tmp_path / "single.yaml"
    single.write_text(CONFIG)
    multi = tmp_path / "multi.yaml"
    multi.write_text(CONFIG + "mesh: {axes: {data: -1}}\n")

    port = free_port()
    procs = [
        subprocess.Popen(
            pathways_cmd("train", multi, "--out", tmp_path / "multi", "--no-progress", "--coordinator", f"127.0.0.1:{port}", "--num-processes", 2, "--process-id", i),
            env=env(2), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]
    outs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], "\n---\n".join(o[-2000:] for o in outs)
    subprocess.run(pathways_cmd("train", single, "--out", tmp_path / "single", "--no-progress"), env=env(1), check=True, capture_output=True)

    a, b = load(tmp_path / "multi").params, load(tmp_path / "single").params
    assert set(a) == set(b)
    assert max(float(np.max(np.abs(a[k] - b[k]))) for k in a) < 1e-3  # 4 global devices vs 1, same data
    assert len(list((tmp_path / "multi").glob("metrics.jsonl"))) == 1


def test_unreachable_coordinator_times_out_with_a_clear_error(tmp_path):
    shutil.copy(ROOT / "examples" / "tokenizers" / "english.model", tmp_path / "english.model")
    config = tmp_path / "multi.yaml"
    config.write_text(CONFIG + "mesh: {axes: {data: -1}}\n")
    proc = subprocess.run(
        pathways_cmd("train", config, "--out", tmp_path / "run", "--coordinator", f"127.0.0.1:{free_port()}",
                     "--num-processes", 2, "--process-id", 1, "--coordinator-timeout", 5),
        env=env(1), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "error: --coordinator: process 1 could not join the run at 127.0.0.1:" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_peer_that_never_joins_is_named_by_process_0(tmp_path):
    shutil.copy(ROOT / "examples" / "tokenizers" / "english.model", tmp_path / "english.model")
    config = tmp_path / "multi.yaml"
    config.write_text(CONFIG + "mesh: {axes: {data: -1}}\n")
    port = free_port()
    proc = subprocess.run(
        pathways_cmd("train", config, "--out", tmp_path / "run", "--coordinator", f"127.0.0.1:{port}",
                     "--num-processes", 3, "--process-id", 0, "--coordinator-timeout", 3),
        env=env(1), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.splitlines()[-1] == (
        f"error: --coordinator: process 0 waited 3s at 127.0.0.1:{port} but processes 1, 2 of 3 never joined: "
        "start every process with the same --coordinator and --num-processes"
    )
    assert "Traceback" not in proc.stderr and "Check failure" not in proc.stderr
    assert not (tmp_path / "run").exists()
