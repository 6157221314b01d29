"""A run read back from its trajectory (PROJECT/.autocoder/runs/STAMP.jsonl): the header, each step
with the records written while it ran (the candidates' selection, installs), and the result.
Lenient: a line that is not a record (a run still writing, a damaged file) is counted, not fatal."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..exceptions import AutocoderError
from ..project.workspace import STATE_DIR

RUNS = "runs"
MAX_BYTES = 256 * 1024 * 1024  # a trajectory larger than this was not written by a run


@dataclass
class Trajectory:
    """One run as recorded: steps in order, each a step record with `select` (the fresh start's
    candidates, or None) and `installs` (what --allow-install did before it) added."""

    path: Path
    header: dict[str, Any] = field(default_factory=dict)
    steps: list[dict[str, Any]] = field(default_factory=list)
    result: dict[str, Any] | None = None
    unreadable: int = 0  # lines that were not a record
    written: float | None = None  # when the file was last written (its mtime)

    @property
    def project(self) -> Path:
        """The project folder: the trajectory lives in PROJECT/.autocoder/runs/."""
        return self.path.parent.parent.parent

    @property
    def in_project(self) -> bool:
        """Whether the file lies where a run writes it, next to the project's snapshots."""
        return self.path.parent.name == RUNS and self.path.parent.parent.name == STATE_DIR

    @property
    def started(self) -> float | None:
        """When the run began (its file's stamp, UTC), as a POSIX time; None if unnamed so."""
        try:
            stamp = datetime.strptime(self.path.stem, "%Y%m%dT%H%M%S%fZ")
        except ValueError:
            return None
        return stamp.replace(tzinfo=UTC).timestamp()


def runs(project: Path) -> list[Path]:
    """The project's trajectories, oldest first (their names are UTC stamps); links are not ours."""
    folder = project / STATE_DIR / RUNS
    if folder.parent.is_symlink() or folder.is_symlink() or not folder.is_dir():
        return []  # read through a link, the page would be written through it too
    found = [p for p in folder.glob("*.jsonl") if p.is_file() and not p.is_symlink()]
    return sorted(found, key=lambda p: p.name)


def latest(project: Path) -> Path:
    """The project's newest trajectory, or a clear error."""
    found = runs(project)
    if not found:
        raise AutocoderError(
            f"{project} has no run to show (no {STATE_DIR}/{RUNS}/*.jsonl): run "
            f"`autocoder run GOAL --project-dir {project}` first, or give a bench output folder"
        )
    return found[-1]


def read(path: Path) -> Trajectory:
    """The run recorded in `path`."""
    try:
        written, size = path.stat().st_mtime, path.stat().st_size
        if size > MAX_BYTES:
            raise AutocoderError(
                f"{path} is {size:,} bytes, more than a run writes ({MAX_BYTES:,}): not shown"
            )
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise AutocoderError(f"{path} cannot be read: {exc.strerror}") from None
    run = Trajectory(path, written=written)
    pending: dict[str, Any] = {"select": None, "installs": []}
    for line in _lines(text):
        try:
            record = json.loads(line)
        except ValueError:
            run.unreadable += 1
            continue
        kind = record.get("type") if isinstance(record, dict) else None
        if kind == "run" and not run.header:
            run.header = record
        elif kind == "select":
            pending["select"] = record
        elif kind == "install":
            pending["installs"].append(record)
        elif kind == "step" and _is_step(record):
            select = pending["select"]
            if select is not None and select.get("step") != record.get("step"):
                select = None  # a selection belongs to the step of its number only
            run.steps.append({**record, "select": select, "installs": pending["installs"]})
            pending = {"select": None, "installs": []}
        elif kind == "result":
            run.result = record
        else:
            run.unreadable += 1
    if not run.header and not run.steps:
        raise AutocoderError(f"{path} is not a trajectory: it holds no run record")
    return run


def _is_step(record: dict[str, Any]) -> bool:
    """A step record with the fields a page reads, each of its type."""
    return (
        isinstance(record.get("step"), int)
        and isinstance(record.get("decision"), dict)
        and isinstance(record.get("result"), dict)
        and isinstance(record.get("observation"), dict)
    )


def _lines(text: str) -> list[str]:
    """A JSON-lines file's lines: split at newlines only (str.splitlines also splits at U+2028,
    U+0085 and the like, which JSON strings may hold unescaped); blank ones left out."""
    return [line for line in text.split("\n") if line.strip()]
