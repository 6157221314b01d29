"""The bench's terminal front end: live progress, the table, the summary, compare."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..exceptions import AutocoderError
from ..progress import printable, safe
from . import report
from .options import BenchOptions
from .runner import run_suite
from .suite import load


def default_out(suite: str, options: BenchOptions) -> Path:
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{Path(suite).name}-{Path(options.model).stem}").strip(
        "-"
    )
    return Path("runs") / (name + ("" if options.mode == "agent" else f"-{options.mode}"))


def bench(
    suite_spec: str,
    options: BenchOptions,
    out: Path | None,
    limit: int | None,
    resume: bool,
    as_json: bool,
) -> dict[str, Any]:
    suite = load(suite_spec, limit)
    out = out or default_out(suite_spec, options)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    bar = progress.add_task(f"{suite.name} · {options.model}", total=None)
    for line in suite.skipped:
        console.print(f"skipped: {printable(line)}", highlight=False, markup=False)

    def started(count: int) -> None:
        progress.update(bar, total=count)
        if count == 0:
            console.print(f"every goal already recorded in {out}")

    def recorded(r: dict[str, Any]) -> None:
        mark = "[green]pass[/]" if r["passed"] else "[red]fail[/]"
        tokens = r["prompt_tokens"] + r["completion_tokens"]
        progress.console.print(
            f"{mark} {safe(r['goal'])} try {r['try']}: {safe(r['status'])}, {r['steps']} steps, "
            f"{tokens} tokens, {r['wall_s']:.1f} s",
            highlight=False,
        )
        progress.advance(bar)

    start = time.monotonic()
    try:
        with progress:
            records = run_suite(
                suite, options, out, resume=resume, on_record=recorded, on_start=started
            )
    except KeyboardInterrupt:
        console.print(f"stopped: the records so far are in {out}; add --resume to go on")
        raise
    summary = report.write(out, time.monotonic() - start)
    if as_json:
        print(json.dumps(summary))
    else:
        out_console = _stdout()
        out_console.print(report.table(records, title=f"{suite.name} · {options.model}"))
        for line in report.summary_lines(summary):
            out_console.print(line, highlight=False)
        out_console.print(f"records, summary and report: {out}", highlight=False)
    return summary


def compare(folders: list[str], chart: Path | None) -> None:
    paths = [Path(f) for f in folders]
    for p in paths:
        if not p.is_dir():
            raise AutocoderError(f"{p} is not a bench output folder")
    report.compare(paths, chart, _stdout())


def _stdout() -> Console:
    """Tables at full width when piped to a file (a terminal sets its own)."""
    return Console(width=None if sys.stdout.isatty() else 160)
