"""What each step changed, as unified diffs of the files it names, rebuilt from the workspace's
snapshots (.autocoder/snapshots/NNNN.zip).

A snapshot is taken at the start of every step whose files differ from the newest one, and each
step records the newest snapshot as it began (name and digest): a step's change lies between its
own and the next step's (the last step's: the project as it is now). Runs that did not record
them, or whose snapshots `autocoder undo` dropped or remade, are matched by time and content: the
project before the first step is the newest snapshot made by the middle of that step (the run's
stamp plus the steps' seconds give each step's time); a step that changed files ends in the first
later snapshot made by the middle of the next step in which one of those files differs (none: it
wrote them as they were), the last step in the project as it is now. When the files' times cannot
tell (copied without them), in the first later state in which one of those files differs: a step
that wrote its files as they were then shows the next change of them, and the step that made it
none."""

from __future__ import annotations

import difflib
import itertools
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..project.workspace import MAX_SNAPSHOT_FILE, Workspace, snapshot_digest
from .page import number
from .trajectory import Trajectory

SLACK_S = 1.0  # file times against the run's clock: their resolution, drift over a long run
MAX_DRIFT_S = 300.0  # time outside the steps beyond which file times no longer tell the run's
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024  # all of one snapshot's files, inflated
MAX_LINES = 3000  # diff lines shown per file; the files themselves are in the snapshots

Files = dict[str, bytes]


@dataclass(frozen=True)
class FileDiff:
    """One file's change: (kind, text) lines, kind one of add, del, hunk, ctx."""

    path: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    note: str = ""  # new file, deleted, unchanged, binary, cut after N lines


@dataclass(frozen=True)
class Change:
    """A step's change: which two project states it lies between, and its files' diffs."""

    before: str
    after: str
    files: list[FileDiff]


class Unreadable(Exception):
    """A snapshot or the project that cannot be read: its message says which member and why."""


@dataclass
class _State:
    label: str
    time: float
    load: Callable[[], Files]
    digest: str = ""  # a snapshot's, as its zip says
    _files: Files | None = None
    unreadable: str = ""  # why its files could not be read (they count as none)

    @property
    def files(self) -> Files:
        if self._files is None:
            try:
                self._files = self.load()
            except Unreadable as exc:
                self._files, self.unreadable = {}, str(exc)
        return self._files


def _unreadable(*states: _State) -> str:
    """A step's note when either end of its change cannot be read; "" when both can."""
    for state in states:
        if state.files is not None and state.unreadable:
            return f"{state.label} cannot be read ({state.unreadable}): no diff shown"
    return ""


def changes(run: Trajectory) -> dict[int, Change | str]:
    """Each step that changed files (by step number): its Change, or why none can be shown."""
    if not run.in_project:
        return {}
    ws = Workspace(run.project)
    states = [_State("an empty project", float("-inf"), dict)]
    states += [
        _State(f"snapshot {p.stem}", _mtime(p), lambda p=p: _snapshot(p), snapshot_digest(p))
        for p in ws.snapshots()
    ]
    states.append(_State("the project as it is now", float("inf"), lambda: _live(ws)))
    named = _named(states, run)
    return named if named is not None else _match(states, run, _drift(run))


def _named(states: list[_State], run: Trajectory) -> dict[int, Change | str] | None:
    """Each step's change between the snapshot it began with and the one the next step began
    with (the last step's: the project as it is now); None unless every step names a snapshot
    that is still there as it was (an older run; one `autocoder undo` dropped or remade)."""
    kept = {s.label.removeprefix("snapshot "): s for s in states[1:-1]}
    begun = []
    for step in run.steps:
        mark = step.get("snapshot")
        state = kept.get(mark.get("name")) if isinstance(mark, dict) else None
        if state is None or not state.digest or state.digest != mark.get("digest"):
            return None
        begun.append(state)
    begun.append(states[-1])
    out: dict[int, Change | str] = {}
    for n, step in enumerate(run.steps):
        changed = _changed(step)
        before, after = begun[n], begun[n + 1]
        if not changed:
            continue
        if note := _unreadable(before, after):
            out[step["step"]] = note
        elif all(after.files.get(p) == before.files.get(p) for p in changed):
            out[step["step"]] = "nothing changed: it wrote the files as they were"
        else:
            diffs = [diff(p, before.files.get(p), after.files.get(p)) for p in changed]
            out[step["step"]] = Change(before.label, after.label, diffs)
    return out


def _changed(step: dict[str, Any]) -> list[str]:
    """The files a step that succeeded says it changed."""
    result = step["result"]
    if not result.get("ok"):
        return []
    return [p for p in _list(result.get("changed")) if isinstance(p, str)]


def _drift(run: Trajectory) -> float | None:
    """How much later the trajectory was last written than its steps' seconds add up to (the
    time not inside a step: the end of the run, pauses in step mode); None when the file's times
    do not tell the run's (no stamp; copied without its times)."""
    if run.started is None or run.written is None:
        return None
    drift = run.written - run.started - sum(_number(s.get("seconds")) for s in run.steps)
    return drift if -SLACK_S <= drift <= MAX_DRIFT_S else None


def _match(states: list[_State], run: Trajectory, drift: float | None) -> dict[int, Change | str]:
    """Timed (`drift` known): the state after a step is the snapshot made while the next step ran
    (none: the step wrote its files as they were); else the first later state that differs in
    them."""
    timed, begun, out = drift is not None, run.started or 0.0, {}
    at = _first(states, run.started if timed else None, run.steps)
    ends = list(itertools.accumulate(_number(s.get("seconds")) for s in run.steps))
    for n, step in enumerate(run.steps):
        changed = _changed(step)
        if not changed:
            continue
        low, high = float("-inf"), float("inf")
        if timed:
            low = begun + ends[n] - SLACK_S
            # by the middle of the next step: its own snapshot is made as it begins, the next
            # one's as soon as it ends (time outside the steps, `drift`, may lie before either)
            high = begun + (ends[n] + ends[n + 1]) / 2 + drift if n + 1 < len(ends) else high
        before = states[at].files
        found = next(
            (
                k
                for k in range(at + 1, len(states))
                if low <= states[k].time <= high
                and any(states[k].files.get(p) != before.get(p) for p in changed)
            ),
            None,
        )
        if found is None:
            out[step["step"]] = (
                "nothing changed: it wrote the files as they were"
                if timed or all(states[-1].files.get(p) == before.get(p) for p in changed)
                else "no snapshot shows this change (removed by `autocoder undo`?)"
            )
            continue
        if note := _unreadable(states[at], states[found]):
            out[step["step"]] = note
        else:
            diffs = [diff(p, before.get(p), states[found].files.get(p)) for p in changed]
            out[step["step"]] = Change(states[at].label, states[found].label, diffs)
        at = found
    return out


def _first(states: list[_State], begun: float | None, steps: list[dict[str, Any]]) -> int:
    """Which state the run's first step found: the newest snapshot made by the middle of that step
    (its own is made as it begins, the next step's as soon as it ends; an empty project when
    none was)."""
    snapshots = range(1, len(states) - 1)
    if begun is None or not steps:
        return 1 if snapshots else 0
    by = begun + _number(steps[0].get("seconds")) / 2
    return max((k for k in snapshots if states[k].time <= by), default=0)


def diff(path: str, before: bytes | None, after: bytes | None) -> FileDiff:
    """A unified diff of one file's two versions (None: the file does not exist)."""
    if before == after:
        return FileDiff(path, note="unchanged")
    if b"\0" in (before or b"") or b"\0" in (after or b""):
        return FileDiff(path, note="binary")
    note = "new file" if before is None else "deleted" if after is None else ""
    old = (before or b"").decode("utf-8", "replace").splitlines()
    new = (after or b"").decode("utf-8", "replace").splitlines()
    lines = []
    for line in difflib.unified_diff(old, new, lineterm="", n=3):
        if line.startswith(("---", "+++")):
            continue
        kind = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "ctx")
        lines.append((kind, line))
        if len(lines) >= MAX_LINES:
            note = f"{note}; cut after {MAX_LINES} lines".lstrip("; ")
            break
    return FileDiff(path, lines, note)


def _snapshot(path: Path) -> Files:
    """A snapshot's files, or Unreadable naming the member that is damaged. Read in bounded
    pieces: a member's header may understate what it inflates to (a zip bomb the program planted
    in .autocoder/snapshots), and so may the sum of them."""
    out: Files = {}
    left = MAX_SNAPSHOT_BYTES
    try:
        with zipfile.ZipFile(path) as zf:
            for m in zf.infolist():
                if m.is_dir() or m.file_size > MAX_SNAPSHOT_FILE:
                    continue
                out[m.filename] = _member(zf, m, min(MAX_SNAPSHOT_FILE, left))
                left -= len(out[m.filename])
    except (OSError, zipfile.BadZipFile, ValueError, RuntimeError, EOFError, zlib.error) as exc:
        raise Unreadable(f"{path.name} is damaged: {_why(exc)}") from None
    return out


def _member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, most: int) -> bytes:
    """One member's bytes, at most `most` of them, or Unreadable naming it."""
    name = member.filename.encode("utf-8", "backslashreplace").decode()
    try:
        with zf.open(member) as fh:
            data = fh.read(most + 1)
    # a damaged deflate stream, a bad CRC, a method zipfile lacks, an encrypted member
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as exc:
        raise Unreadable(f"its member {name!r} is unreadable: {_why(exc)}") from None
    if len(data) > most:
        raise Unreadable(f"its member {name!r} inflates past what a snapshot holds")
    return data


def _why(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _live(ws: Workspace) -> Files:
    try:
        names = ws.files()
    # a tree deeper than a walk goes, names the system refuses: say so rather than stop the page
    except (OSError, RecursionError, ValueError) as exc:
        raise Unreadable(f"the project's files: {_why(exc)}") from None
    out, left = {}, MAX_SNAPSHOT_BYTES  # as much as a snapshot holds, however many files
    for rel in names:
        path = ws.root / rel
        try:
            size = path.stat().st_size
            if size <= min(MAX_SNAPSHOT_FILE, left):
                with path.open("rb") as fh:
                    out[rel] = fh.read(size)  # no more than it was: it may be growing
                left -= size
        except OSError:
            continue
    return out


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("-inf")


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _number(value: Any) -> float:
    return float(number(value))
