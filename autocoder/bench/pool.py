"""`--jobs N`: tasks on N worker processes. Each process makes its worker once (a local model
loads once per process), then runs the tasks the driver hands it one at a time and sends back each
record. The worker lives in the serving loop's own frame, not in a module global; the driver
alone writes what comes back."""

from __future__ import annotations

import os
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from multiprocessing import get_context
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Protocol, cast

from ..exceptions import AutocoderError
from .options import Task

STOP_S = 10.0  # how long an idle worker gets to exit once the driver is done


class Runs(Protocol):
    """What a pool runs tasks on (bench.worker.Worker)."""

    def run(self, task: Task) -> dict[str, Any]: ...


def threads_per_worker(jobs: int) -> int:
    """A local model's CPU threads in each of `jobs` workers: they share the cores instead of
    fighting for them."""
    return max(1, (os.cpu_count() or 1) // jobs)


def run(todo: list[Task], start: Callable[[int], Runs], jobs: int) -> Iterator[dict[str, Any]]:
    """Each task's record as a worker finishes it (not in order). `start(n)` makes worker n in a
    fresh process, so it must pickle (a module-level function, or a partial of one)."""
    ctx = get_context("spawn")  # a fresh process per worker: no llama.cpp state crosses a fork
    waiting = deque(todo)
    workers: dict[Connection, BaseProcess] = {}
    busy: set[Connection] = set()
    try:
        for n in range(min(jobs, len(todo))):
            here, there = ctx.Pipe()
            process = ctx.Process(target=_serve, args=(start, n, there), daemon=True)
            process.start()
            there.close()  # the worker's end lives in the worker: its exit reads as EOF here
            workers[here] = process
            _hand(here, waiting, busy)
        while busy:
            for ready in wait(list(busy)):
                conn = cast(Connection, ready)
                kind, value = _receive(conn, workers[conn])
                busy.discard(conn)
                if kind == "error":
                    raise value
                _hand(conn, waiting, busy)  # the worker goes on while the driver writes
                yield value
    finally:
        _stop(workers, busy)


def _hand(conn: Connection, waiting: deque[Task], busy: set[Connection]) -> None:
    if waiting:
        conn.send(waiting.popleft())
        busy.add(conn)


def _receive(conn: Connection, process: BaseProcess) -> tuple[str, Any]:
    try:
        return conn.recv()
    except EOFError:
        process.join(STOP_S)
        raise AutocoderError(
            f"a bench worker stopped (exit code {process.exitcode}) before it sent its record:"
            " add --resume to go on with the records so far"
        ) from None


def _stop(workers: dict[Connection, BaseProcess], busy: set[Connection]) -> None:
    """Idle workers exit on EOF; one still busy (the driver stopped early) is terminated."""
    for conn, process in workers.items():
        conn.close()
        if conn in busy:
            process.terminate()
    for process in workers.values():
        process.join(STOP_S)
        if process.is_alive():
            process.kill()
            process.join()


def _serve(start: Callable[[int], Runs], n: int, conn: Connection) -> None:
    """Worker n's process: make it, then run each task the driver sends until it hangs up."""
    try:
        worker = start(n)
        while True:
            try:
                task = conn.recv()
            except EOFError:
                return
            conn.send(("record", worker.run(task)))
    except KeyboardInterrupt:
        return  # Ctrl-C reached the whole process group: the driver stops and says so
    # Deliberately blind: any failure goes to the driver, which raises it there (with this
    # traceback as a note; a bad-input error stays one clear line).
    except Exception as exc:  # noqa: BLE001
        if not isinstance(exc, AutocoderError):
            exc.add_note("in a bench worker:\n" + traceback.format_exc())
        conn.send(("error", exc))
