"""`--ray ADDRESS`: the bench's tasks on a Ray cluster. Up to --jobs actors, each asking Ray for
one CPU and holding one `Worker` (a local model loads once per actor), placed by Ray across the
nodes. The driver hands each goal and try to an idle actor and gets back its record and its
project's files, which it alone writes, as a local run does. A task whose actor or node dies runs
again on another actor, and a fresh actor takes the dead one's place: nothing is lost, and each
record is written once. Ray is imported here only, and only when --ray is given."""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from .._version import __version__
from ..exceptions import AutocoderError
from ..sandbox import tree
from .cap import ClusterSlots
from .options import BenchOptions, Task
from .worker import Place, Worker, project_dir

STALL_S = 600.0  # how long a run waits for a worker to start while none is working
STOP_S = 10.0  # how long idle actors get to clear their scratch folders at the end
MAX_LOSSES = 3  # a task whose worker dies this often is killing them: the run stops and says so
MAX_FILE = 16 << 20  # a produced file larger than this stays on its node


class Runs(Protocol):
    """What an actor holds (bench.worker.Worker): it runs tasks and makes projects under `out`."""

    out: Path

    def run(self, task: Task) -> dict[str, Any]: ...


# A start makes an actor's worker, given where it runs and a scratch folder of its own.
Start = Callable[[Place, Path], Runs]


def last_line(exc: BaseException) -> str:
    """The last line of an error that says something (Ray's messages end with the cause)."""
    lines = [x.strip() for x in str(exc).splitlines() if x.strip()]
    return lines[-1][:300] if lines else type(exc).__name__


def remote_worker(
    options: BenchOptions, suite: str, cassette: Any, slots: Any, place: Place, scratch: Path
) -> Worker:
    """The bench's worker in an actor: isolation checked on its node, its own provider (a local
    model on one thread: the CPU the actor asked for), projects made in the actor's scratch
    folder, the driver's cassette replayed from a copy there."""
    import ray

    from .. import sandbox

    if cassette is not None:
        path = scratch / "cassette.json"
        path.write_bytes(ray.get(cassette))
        options = options.model_copy(update={"cassette": str(path)})
    policy = sandbox.require(options.unsafe)
    calls = ClusterSlots(slots, place.worker) if slots is not None else None
    return Worker.start(options, suite, scratch, policy, threads=1, place=place, slots=calls)


class Serve:
    """A Ray actor around one worker, made once by `ready()`; each `run()` returns the record and
    the project's files, and clears the project from the node."""

    def __init__(self, start: Start, index: int) -> None:
        # autocoder-KIND-PID-*: sandbox.require() on this node sweeps it once this process is gone
        self.scratch = Path(tempfile.mkdtemp(prefix=f"autocoder-ray-{os.getpid()}-"))
        self.start, self.index = start, index
        self.worker: Runs | None = None

    def ready(self) -> tuple[Place, str]:
        """Make the worker; say where it runs and which autocoder it is."""
        import ray

        node = ray.get_runtime_context().get_node_id()
        place = Place(node=node, host=ray.util.get_node_ip_address(), worker=self.index)
        self.worker = self.start(place, self.scratch)
        return place, __version__

    def run(self, task: Task) -> tuple[dict[str, Any], dict[str, bytes]]:
        assert self.worker is not None, "run() before ready()"
        record = self.worker.run(task)
        return record, take_files(project_dir(self.worker.out, task))

    def close(self) -> None:
        tree.rmtree(self.scratch)


def take_files(folder: Path) -> dict[str, bytes]:
    """The project's plain files by relative path (no links, no .venv, none over MAX_FILE), and
    the folder cleared from the node."""
    files: dict[str, bytes] = {}
    for root, dirs, names in os.walk(folder):  # links to folders are not followed
        dirs[:] = [d for d in dirs if d != ".venv"]
        for name in names:
            path = Path(root, name)
            if path.is_file() and not path.is_symlink() and path.stat().st_size <= MAX_FILE:
                files[path.relative_to(folder).as_posix()] = path.read_bytes()
    tree.rmtree(folder)
    return files


def put_files(folder: Path, files: dict[str, bytes]) -> None:
    """A project received from a node, written afresh under `folder` (nothing outside it)."""
    if folder.exists():  # left by an interrupted run
        tree.rmtree(folder)
    folder.mkdir(parents=True)
    for name, data in files.items():
        rel = PurePosixPath(name)
        if rel.is_absolute() or not rel.parts or ".." in rel.parts:
            continue
        path = folder.joinpath(*rel.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


@dataclass(eq=False)
class _Actor:
    handle: Any
    index: int
    place: Place | None = None  # where it runs, once it is ready


class Dispatch:
    """One run's tasks over its actors: each ready actor is handed the next task, a task whose
    actor died goes back to the head of the queue, and a fresh actor replaces the dead one."""

    def __init__(
        self, ray: Any, todo: list[Task], start: Start, jobs: int, out: Path, slots: Any
    ) -> None:
        self.ray, self.start, self.out, self.slots = ray, start, out, slots
        self.actor_class = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(Serve)
        errors = ray.exceptions
        # the actor, its node or the object holding its answer is gone: the task runs again
        self.lost_kinds = tuple(
            getattr(errors, n)
            for n in ("RayActorError", "ObjectLostError", "WorkerCrashedError", "NodeDiedError")
            if hasattr(errors, n)
        )
        self.waiting = deque(todo)
        self.size = min(jobs, len(todo))
        self.calls: dict[Any, tuple[_Actor, Task | None]] = {}  # answer ref -> who, what
        self.idle: list[_Actor] = []
        self.alive: list[_Actor] = []
        self.losses: Counter[tuple[str, int]] = Counter()  # by goal and try
        self.done: set[tuple[str, int]] = set()
        self.made, self.progress, self.last_loss = 0, time.monotonic(), ""

    def records(self) -> Iterator[dict[str, Any]]:
        for _ in range(self.size):
            self._spawn()
        try:
            while self.waiting or self._running():
                ref = self._next()
                actor, task = self.calls.pop(ref)
                try:
                    value = self.ray.get(ref)
                except self.ray.exceptions.RayTaskError as exc:  # raised by our code: as locally
                    raise _cause(exc) from None
                except self.lost_kinds as exc:
                    self._lost(actor, task, exc)
                    continue
                if task is None:
                    self._started(actor, value)
                record = None if task is None else self._finished(task, value)
                self._hand(actor)  # the actor goes on while the driver writes
                if record is not None:
                    yield record
        finally:
            self._stop()

    def _spawn(self) -> None:
        actor = _Actor(self.actor_class.remote(self.start, self.made), self.made)
        self.made += 1
        self.alive.append(actor)
        self.calls[actor.handle.ready.remote()] = (actor, None)

    def _running(self) -> bool:
        return any(task is not None for _, task in self.calls.values())

    def _next(self) -> Any:
        """The next answer: a record, an actor ready, or a death."""
        while True:
            if not self.calls:
                raise AutocoderError(
                    f"every Ray worker of this run died before it could start ({self.last_loss})"
                )
            waited = time.monotonic() - self.progress
            timeout = None if self._running() else max(STALL_S - waited, 0.0)
            done, _ = self.ray.wait(list(self.calls), num_returns=1, timeout=timeout)
            if done:
                self.progress = time.monotonic()
                return done[0]
            raise AutocoderError(
                f"no Ray worker started in {STALL_S:.0f} s while none was working: does the"
                " cluster have a free CPU for one? The records so far are kept: add --resume"
            )

    def _started(self, actor: _Actor, value: tuple[Place, str]) -> None:
        """An actor made its worker: it runs the same autocoder as this driver, or the run stops."""
        place, version = value
        if version != __version__:
            raise AutocoderError(
                f"the Ray node at {place.host} runs autocoder {version}, this driver"
                f" {__version__}: install the same version on every node"
            )
        actor.place = place

    def _finished(self, task: Task, value: tuple[dict[str, Any], dict[str, bytes]]) -> Any:
        record, files = value
        key = (task.goal.name, task.attempt)
        if key in self.done:  # never counted twice
            return None
        self.done.add(key)
        put_files(project_dir(self.out, task), files)
        return record

    def _hand(self, actor: _Actor) -> None:
        if self.waiting:
            task = self.waiting.popleft()
            self.calls[actor.handle.run.remote(task)] = (actor, task)
        else:
            self.idle.append(actor)

    def _lost(self, actor: _Actor, task: Task | None, exc: BaseException) -> None:
        """`actor` died (its node, or its process): its task goes first in the queue again."""
        self.alive.remove(actor)
        self.last_loss = last_line(exc)
        if self.slots is not None:
            self.slots.forget.remote(actor.index)
        if task is not None:
            key = (task.goal.name, task.attempt)
            self.losses[key] += 1
            if self.losses[key] >= MAX_LOSSES:
                raise AutocoderError(
                    f"{task.goal.name} try {task.attempt}: its Ray worker died {MAX_LOSSES} times"
                    f" ({self.last_loss}); the records so far are kept: add --resume to go on"
                )
            self.waiting.appendleft(task)
        while self.waiting and self.idle:
            self._hand(self.idle.pop())
        if self.waiting and actor.place is not None:  # one that never started is not replaced
            self._spawn()

    def _stop(self) -> None:
        """Idle actors clear their scratch folders; then every actor of the run is ended."""
        try:
            self.ray.wait(
                [a.handle.close.remote() for a in self.idle],
                num_returns=len(self.idle),
                timeout=STOP_S,
            )
        finally:
            for actor in self.alive:
                self.ray.kill(actor.handle, no_restart=True)


def _cause(exc: Any) -> BaseException:
    """The exception our code raised in an actor, with where it came from as a note (a bad-input
    error stays one clear line)."""
    cause = getattr(exc, "cause", None)
    if not isinstance(cause, BaseException):
        return exc
    if not isinstance(cause, AutocoderError):
        cause.add_note(f"in a Ray bench worker:\n{exc}")
    return cause
