"""Run a suite: every goal (and try) not yet recorded, on one worker in this process, on a pool
of them (`--jobs`) or on a Ray cluster's (`--ray`); this driver alone writes the records, as each
comes, and the manifest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import places, sandbox
from ..exceptions import AutocoderError
from . import pool
from .cap import Slots, local_slots
from .options import MAX_LOCAL_JOBS, BenchOptions, Task
from .records import (
    MANIFEST,
    RECORDS,
    manifest,
    read_records,
    same_settings,
    set_aside_cut_line,
    tasks_to_run,
)
from .suite import Suite
from .worker import Place, Worker, make_provider, open_store

if TYPE_CHECKING:
    from .ray_cluster import Cluster


def run_suite(
    suite: Suite,
    options: BenchOptions,
    out: Path,
    resume: bool = False,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    provider: Any = None,
) -> list[dict[str, Any]]:
    """Run every goal and try not yet recorded in `out`; each record is appended as it comes, so an
    interrupted run loses nothing and `resume` goes on from there. Returns all records of `out`.
    `provider` (tests, a replay) serves the run in this process; a pool's workers make their own,
    and so do a Ray cluster's (`options.ray`)."""
    _refuse(options)
    _usable_out(out)
    # on a cluster each worker checks isolation on its own node; this driver runs no model code
    policy = sandbox.SAFE if options.ray else sandbox.require(options.unsafe)
    cluster = _connect(options.ray) if options.ray else None  # before anything is written
    try:
        _make_out(out)
        todo = tasks_to_run(suite, options, out, resume)
        set_aside_cut_line(out)
        same_settings(out, options)
        store = open_store(options) if provider is None else None
        provider = provider or make_provider(options, store=store)  # a local model loads on use
        about = manifest(suite, options, provider)
        if cluster is not None:
            about["cluster"] = cluster.describe()
        (out / MANIFEST).write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
        if on_start:
            on_start(len(todo))
        here = Worker(options, suite.name, out, provider, policy, store)
        with (out / RECORDS).open("a", encoding="utf-8") as fh:
            for record in _results(todo, here, cluster):
                fh.write(json.dumps(record) + "\n")
                fh.flush()
                if on_record:
                    on_record(record)
    finally:
        if cluster is not None:
            cluster.close()
    return read_records(out)


def _refuse(options: BenchOptions) -> None:
    """Options that cannot run together, refused before anything is written."""
    if options.plain and options.single_shot:
        raise AutocoderError("--plain and --single-shot are two baselines: choose one per run")
    if options.record and (options.jobs > 1 or options.ray):
        raise AutocoderError(
            "--record writes one cassette from one process: record with --jobs 1 here (replays"
            " may use more, and a cluster)"
        )
    if options.jobs > MAX_LOCAL_JOBS and not options.ray:
        raise AutocoderError(
            f"--jobs {options.jobs} is more than one machine runs ({MAX_LOCAL_JOBS} at most):"
            " add --ray ADDRESS to run them on a cluster"
        )


def _usable_out(out: Path) -> None:
    """The output folder, refused in one line before anything is written: a file, a system
    folder, the home folder or above it (the bench writes records.jsonl and projects/ there)."""
    places.refuse(out, "the bench output folder")
    if out.exists() and not out.is_dir():
        raise AutocoderError(f"the bench output folder {out} is a file: give --out a folder")


def _make_out(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AutocoderError(f"cannot make the bench output folder {out}: {exc.strerror}") from None


def _connect(address: str) -> Cluster:
    """This driver on the Ray cluster at `address` (Ray and its module load only here)."""
    from .ray_cluster import connect

    return connect(address)


def _results(todo: list[Task], here: Worker, cluster: Cluster | None) -> Iterator[dict[str, Any]]:
    """The records of `todo`: from `here`, or with --jobs from a pool of workers like it, each
    with its own provider and a share of the cores, or from a Ray cluster's actors."""
    options = here.options
    if cluster is not None:
        yield from cluster.run(todo, options, here.suite, here.out)
        return
    jobs = min(options.jobs, len(todo))
    if jobs <= 1:
        yield from map(here.run, todo)
        return
    slots = local_slots(options.max_concurrent_calls) if options.max_concurrent_calls else None
    threads = pool.threads_per_worker(jobs)
    start = partial(_pool_worker, options, here.suite, here.out, here.policy, threads, slots)
    yield from pool.run(todo, start, jobs)


def _pool_worker(
    options: BenchOptions,
    suite: str,
    out: Path,
    policy: sandbox.Sandbox,
    threads: int,
    slots: Slots | None,
    n: int,
) -> Worker:
    """Worker n of a local pool, in its own process."""
    return Worker.start(options, suite, out, policy, threads, Place(worker=n), slots)
