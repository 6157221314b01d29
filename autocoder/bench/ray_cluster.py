"""`--ray ADDRESS`: joining the cluster (one clear line when Ray is missing or the cluster cannot
be reached, before anything is written) and running a bench's tasks on it (ray_pool.Dispatch).
Ray is imported here and in ray_pool only, and only when --ray is given."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import AutocoderError
from .cap import SlotKeeper
from .options import BenchOptions, Task
from .ray_pool import Dispatch, Start, last_line, remote_worker

INSTALL = 'pip install "autocoder[ray]"'
GCS_PORT, CLIENT_PORT = 6379, 10001  # Ray's defaults: `ray start --head`, and ray:// (Ray Client)
PROBE_S = 5.0  # how long the driver tries to reach the cluster's address


def connect(address: str) -> Cluster:
    """This driver joined to the cluster at `address` ("auto": RAY_ADDRESS, else the cluster
    started on this machine), or one clear line: Ray missing, or the cluster unreachable."""
    try:
        import ray
    except ImportError:
        raise AutocoderError(f"--ray needs Ray, which is not installed: {INSTALL}") from None
    if ray.is_initialized():  # a program that joined a cluster itself and runs the bench there
        return Cluster(ray, address, owned=False)
    named = os.environ.get("RAY_ADDRESS", "auto") if address == "auto" else address
    if named != "auto":
        _probe(named)
    try:
        ray.init(
            address=address,
            namespace="autocoder",
            logging_level="WARNING",
            log_to_driver=False,  # the actors' output would break into the progress display
        )
    # Deliberately blind: whatever Ray raises while it connects, the user gets one line.
    except Exception as exc:  # noqa: BLE001
        if named == "auto":
            raise AutocoderError(
                "--ray auto found no cluster (RAY_ADDRESS is not set, and none was started on"
                " this machine): start one with `ray start --head`, or give --ray HOST:PORT"
            ) from None
        raise AutocoderError(f"cannot join the Ray cluster at {named}: {last_line(exc)}") from None
    return Cluster(ray, address, owned=True)


def _probe(address: str) -> None:
    """Fail fast, in one line, when nothing answers at the address (Ray alone would retry for
    a minute and print its own errors)."""
    client = address.startswith("ray://")
    parts = urlsplit(address if client else f"//{address}")
    try:
        host, port = parts.hostname, parts.port or (CLIENT_PORT if client else GCS_PORT)
    except ValueError:
        host = None
    if not host:
        raise AutocoderError(f"--ray {address}: give HOST:PORT, ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, port), timeout=PROBE_S).close()
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise AutocoderError(
            f"cannot reach the Ray cluster at {host}:{port} ({why}): is `ray start --head`"
            " running there?"
        ) from None


class Cluster:
    """This driver's session on a Ray cluster: runs tasks on it, and leaves it with `close()`."""

    def __init__(self, ray: Any, address: str, owned: bool) -> None:
        self.ray, self.address, self.owned = ray, address, owned

    def close(self) -> None:
        """Leave the cluster, unless this process had joined it before the bench did."""
        if self.owned:
            self.ray.shutdown()

    def describe(self) -> dict[str, Any]:
        """For the manifest: the address asked for, and the nodes and CPUs the cluster has now."""
        resources = self.ray.cluster_resources()
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        return {"address": self.address, "nodes": len(nodes), "cpus": resources.get("CPU", 0)}

    def run(
        self, todo: list[Task], options: BenchOptions, suite: str, out: Path
    ) -> Iterator[dict[str, Any]]:
        """The bench's records of `todo` from up to `options.jobs` actors; each project is
        written under `out` before its record is yielded."""
        slots = self.slots(options.max_concurrent_calls) if options.max_concurrent_calls else None
        cassette = None
        if options.cassette and not options.record:  # every node replays the driver's copy
            cassette = self.ray.put(_read_cassette(Path(options.cassette)))
        start = partial(remote_worker, options, suite, cassette, slots)
        yield from self.dispatch(todo, start, options.jobs, out, slots)

    def dispatch(
        self, todo: list[Task], start: Start, jobs: int, out: Path, slots: Any = None
    ) -> Iterator[dict[str, Any]]:
        """Each task's record as an actor finishes it (not in order). `start` is pickled to
        every actor: a module-level function, or a partial of one."""
        yield from Dispatch(self.ray, todo, start, jobs, out, slots).records()

    def slots(self, limit: int) -> Any:
        """The run's call slots (cap.py): an actor on this driver's node, which lives and dies
        with the driver, so that no other node's death takes the count with it."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = self.ray.get_runtime_context().get_node_id()
        actor = self.ray.remote(num_cpus=0, max_concurrency=4096)(SlotKeeper)
        strategy = NodeAffinitySchedulingStrategy(node_id=here, soft=False)
        return actor.options(scheduling_strategy=strategy).remote(limit)


def _read_cassette(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise AutocoderError(
            f"no cassette at {path} ({exc.strerror}): record one with --record"
        ) from None
