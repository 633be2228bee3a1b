"""Multi-process training on JAX's own distributed runtime (`jax.distributed`)."""

from __future__ import annotations

import contextlib
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


# Before `jax.distributed` starts, the processes meet on the coordinator's port: every other process
# connects and says `JOIN <id>`; once all have, process 0 answers `GO` to each, closes the port and
# starts JAX's coordination service on it. jaxlib aborts the whole process (SIGABRT, a C++ stack
# trace) when a peer never comes or the coordinator cannot be reached; meeting first turns both into
# one line that names who is missing.
JOIN, GO = b"PATHWAYS-JOIN ", b"PATHWAYS-GO\n"


def _address(cluster: Cluster) -> tuple[str, int]:
    host, _, port = cluster.coordinator.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise DistributedError([Problem("--coordinator", f"{cluster.coordinator!r} is not HOST:PORT")])
    return host.strip("[]"), int(port)


def _read_line(conn: socket.socket, limit: int = 64) -> bytes:
    data = b""
    while not data.endswith(b"\n") and len(data) < limit:
        chunk = conn.recv(limit - len(data))
        if not chunk:
            break
        data += chunk
    return data


def gather_peers(cluster: Cluster) -> None:
    """Process 0: wait on the coordinator's port until every other process has joined, then release them."""
    _, port = _address(cluster)
    try:
        if socket.has_dualstack_ipv6():  # like JAX's service, which listens on [::]:port
            server = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        else:
            server = socket.create_server(("", port))
    except OSError as exc:
        raise DistributedError([Problem("--coordinator", f"process 0 cannot listen on port {port}: {exc.strerror or exc}")]) from None
    joined: dict[int, socket.socket] = {}
    deadline = time.monotonic() + cluster.timeout_s
    with server:
        server.settimeout(0.2)
        while len(joined) < cluster.num_processes - 1:
            if time.monotonic() >= deadline:
                for conn in joined.values():
                    conn.close()
                missing = [str(i) for i in range(1, cluster.num_processes) if i not in joined]
                raise DistributedError(
                    [Problem("--coordinator", f"process 0 waited {cluster.timeout_s}s at {cluster.coordinator} but {'process' if len(missing) == 1 else 'processes'} {', '.join(missing)} "
                             f"of {cluster.num_processes} never joined: start every process with the same --coordinator and --num-processes")]
                )
            try:
                conn, _ = server.accept()
                conn.settimeout(2.0)
                line = _read_line(conn)
            except (TimeoutError, OSError):
                continue
            peer = line[len(JOIN) :].strip()
            if not line.startswith(JOIN) or not peer.isdigit() or not 0 < int(peer) < cluster.num_processes:
                conn.close()  # something else knocking on the port
                continue
            if int(peer) in joined:
                joined[int(peer)].close()  # a restarted process replaces its earlier self
            joined[int(peer)] = conn
        for conn in joined.values():
            with contextlib.suppress(OSError):
                conn.sendall(GO)
        for conn in joined.values():  # let each peer close first, so the port is free for JAX at once
            with contextlib.suppress(OSError):
                conn.recv(1)
            conn.close()


def wait_for_coordinator(cluster: Cluster) -> None:
    """Any other process: join process 0 on the coordinator's port, retrying until it answers or the timeout passes."""
    host, port = _address(cluster)
    deadline = time.monotonic() + cluster.timeout_s
    why = "no answer"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0) as conn:
                conn.sendall(JOIN + f"{cluster.process_id}\n".encode())
                conn.settimeout(max(0.1, deadline - time.monotonic()))
                if _read_line(conn) == GO:
                    return
                why = "the port answered, but not as a Pathways process 0"
        except OSError as exc:
            why = exc.strerror or str(exc)
        time.sleep(0.5)
    raise DistributedError(
        [Problem("--coordinator", f"process {cluster.process_id} could not join the run at {cluster.coordinator} within {cluster.timeout_s}s: {why}")]
    )


def initialize(cluster: Cluster) -> None:
    """Join the run: CPU collectives go through gloo; a coordinator that never answers is an error, not a hang."""
    if cluster.process_id == 0:
        gather_peers(cluster)
    else:
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
