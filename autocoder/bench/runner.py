"""Run a suite: every goal (and try) not yet recorded, on one worker in this process or on a pool
of them (`--jobs`); this driver alone writes the records, as each comes, and the manifest."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from .. import sandbox
from ..exceptions import AutocoderError
from . import pool
from .options import BenchOptions, Task
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
from .worker import Worker, make_provider, open_store


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
    `provider` (tests, a replay) serves the run in this process; a pool's workers make their own."""
    policy = sandbox.require(options.unsafe)  # refuse before anything is written
    if options.plain and options.single_shot:
        raise AutocoderError("--plain and --single-shot are two baselines: choose one per run")
    if options.record and options.jobs > 1:
        raise AutocoderError(
            "--record writes one cassette from one process: use --jobs 1 (replays may use more)"
        )
    out.mkdir(parents=True, exist_ok=True)
    todo = tasks_to_run(suite, options, out, resume)
    set_aside_cut_line(out)
    same_settings(out, options)
    store = open_store(options) if provider is None else None
    provider = provider or make_provider(options, store=store)  # a local model loads on first use
    (out / MANIFEST).write_text(
        json.dumps(manifest(suite, options, provider), indent=2) + "\n", encoding="utf-8"
    )
    if on_start:
        on_start(len(todo))
    with (out / RECORDS).open("a", encoding="utf-8") as fh:
        for record in _results(todo, Worker(options, suite.name, out, provider, policy, store)):
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            if on_record:
                on_record(record)
    return read_records(out)


def _results(todo: list[Task], here: Worker) -> Iterator[dict[str, Any]]:
    """The records of `todo`: from `here`, or with --jobs from a pool of workers like it, each
    with its own provider and a share of the cores."""
    jobs = min(here.options.jobs, len(todo))
    if jobs <= 1:
        yield from map(here.run, todo)
        return
    start = partial(
        Worker.start,
        here.options,
        here.suite,
        here.out,
        here.policy,
        pool.threads_per_worker(jobs),
    )
    yield from pool.run(todo, start, jobs)
