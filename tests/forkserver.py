"""A fork server for the kill -9 soak tests: imports Pathways once, then forks real CLI processes on request.

Importing JAX takes seconds; forking an already-imported interpreter (before any
JAX backend starts) makes each run cost only its own work, so a soak test can
kill many runs in CI time. Every child is a real process running `pathways.cli.main`;
SIGKILL ends it as it would a user's run.

Protocol on stdin/stdout, one JSON object per line:
  {"run": [argv...], "log": PATH}  ->  {"pid": N}     (stdout and stderr of the run go to PATH)
  {"wait": N}                      ->  {"exit": CODE} or {"signal": SIG}

Tests drive it through `ForkServer`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pathways.cli  # noqa: F401  (imported once, shared by every child)


def _child(argv: list[str], log: str) -> None:
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    sys.stdin = open(os.devnull)
    try:
        code = pathways.cli.main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # a traceback: print it, the test fails on it
        import traceback

        traceback.print_exc()
        code = 99
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def serve() -> None:
    for line in sys.stdin:
        request = json.loads(line)
        if "run" in request:
            pid = os.fork()
            if pid == 0:
                _child(request["run"], request["log"])
            reply = {"pid": pid}
        else:
            _, status = os.waitpid(request["wait"], 0)
            reply = {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else {"exit": os.WEXITSTATUS(status)}
        print(json.dumps(reply), flush=True)


class ForkServer:
    """The test's side: start CLI runs as forks of one pre-imported interpreter, wait for them."""

    def __init__(self, tmp: Path):
        env = {**os.environ, "JAX_COMPILATION_CACHE_DIR": str(tmp / "jax-cache"), "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0"}
        self.proc = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=tmp)
        self.log = tmp / "runs.log"

    def _ask(self, request: dict) -> dict:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(self, *argv) -> int:
        return self._ask({"run": [str(a) for a in argv], "log": str(self.log)})["pid"]

    def wait(self, pid: int) -> dict:
        return self._ask({"wait": pid})

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)
        self.proc.stdout.close()


def wait_for(predicate, timeout: float) -> bool:
    """Poll `predicate` every half millisecond until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.0005)
    return False


if __name__ == "__main__":
    serve()
