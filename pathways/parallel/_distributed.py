"""Multi-process training on JAX's own distributed runtime (`jax.distributed`)."""

from __future__ import annotations

import dataclasses
import os
import socket
import time

import jax

from pathways._errors import PathwaysError, Problem


class DistributedError(PathwaysError):
    """The processes of a multi-process run could not find each other."""


@dataclasses.dataclass(frozen=True)
class Cluster:
    coordinator: str  # host:port of process 0
    num_processes: int
    process_id: int
    timeout_s: int = 60

    @classmethod
    def from_args(cls, coordinator=None, num_processes=None, process_id=None, timeout_s=None) -> "Cluster | None":
        """From CLI values, else `PATHWAYS_COORDINATOR`, `PATHWAYS_NUM_PROCESSES`, `PATHWAYS_PROCESS_ID`."""
        env = os.environ
        coordinator = coordinator or env.get("PATHWAYS_COORDINATOR")
        if not coordinator:
            return None
        try:
            n = int(num_processes if num_processes is not None else env["PATHWAYS_NUM_PROCESSES"])
            i = int(process_id if process_id is not None else env["PATHWAYS_PROCESS_ID"])
        except (KeyError, ValueError):
            raise DistributedError("a multi-process run needs --num-processes and --process-id (or PATHWAYS_NUM_PROCESSES / PATHWAYS_PROCESS_ID)") from None
        if not 0 <= i < n:
            raise DistributedError(f"--process-id {i} is not in [0, {n})")
        t = int(timeout_s if timeout_s is not None else env.get("PATHWAYS_COORDINATOR_TIMEOUT", 60))
        return cls(coordinator, n, i, t)


def wait_for_coordinator(cluster: Cluster) -> None:
    """Probe the coordinator's port until it answers or the timeout passes.

    jaxlib aborts the whole process (SIGABRT) when it cannot reach the
    coordinator, so processes other than 0 check first and fail with a message.
    """
    host, _, port = cluster.coordinator.rpartition(":")
    if not host or not port.isdigit():
        raise DistributedError([Problem("--coordinator", f"{cluster.coordinator!r} is not HOST:PORT")])
    deadline = time.monotonic() + cluster.timeout_s
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=1.0):
                return
        except OSError as exc:
            if time.monotonic() >= deadline:
                raise DistributedError(
                    [Problem("--coordinator", f"process {cluster.process_id} could not join the run at {cluster.coordinator} within {cluster.timeout_s}s: {exc.strerror or exc}")]
                ) from None
            time.sleep(0.5)


def initialize(cluster: Cluster) -> None:
    """Join the run: CPU collectives go through gloo; a coordinator that never answers is an error, not a hang."""
    if cluster.process_id != 0:
        wait_for_coordinator(cluster)
    # Only affects the CPU backend (and must be set before any backend starts).
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(
            coordinator_address=cluster.coordinator,
            num_processes=cluster.num_processes,
            process_id=cluster.process_id,
            initialization_timeout=cluster.timeout_s,
        )
    except Exception as exc:  # jaxlib raises XlaRuntimeError / RuntimeError with a long gRPC message
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DistributedError(
            [Problem("--coordinator", f"process {cluster.process_id} could not join the run at {cluster.coordinator} within {cluster.timeout_s}s: {first[:200]}")]
        ) from None
