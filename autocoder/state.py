"""Typed state of a run: what was observed, decided, done and recorded. Nothing is stored twice."""

from __future__ import annotations

import functools
import shlex
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol

Status = Literal["done", "max_steps", "stalled", "malformed", "stopped", "error"]
Phase = Literal["create", "fix_main", "fix_file", "fix_examples", "fix_tests", "judge", "restart"]


@dataclass(frozen=True)
class ProcResult:
    """Outcome of one sandboxed command."""

    returncode: int
    output: str
    seconds: float
    timed_out: bool = False
    report: dict[str, Any] | None = None  # what autocoder's own check reported (sandbox.tool)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out


@dataclass(frozen=True)
class FileReport:
    """One Python file of the project and what the checks said about it."""

    path: str
    content: str
    error: str = ""  # compile, validation or lint problem; empty when the file is clean

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Observation:
    """Everything the agent knows about the project at the start of a step."""

    files: tuple[str, ...]  # every file of the project, relative paths
    python: tuple[FileReport, ...]
    tests: ProcResult | None  # None when there is nothing to test yet
    main: ProcResult | None  # None when main.py does not exist
    # the goal's own examples run against main.py (see examples.py)
    examples: ProcResult | None = None
    # the arguments main.py was run with: the goal's first command line's, as the goal runs it
    # (a right tool may well stop with its usage when given none)
    main_args: tuple[str, ...] = ()

    def command(self) -> str:
        """How main.py was run: `python main.py`, or with the goal's arguments."""
        return shlex.join(["python", "main.py", *self.main_args])

    @property
    def empty(self) -> bool:
        return not self.python

    @property
    def green(self) -> bool:
        """All files clean, tests pass and main.py exits 0."""
        return (
            bool(self.python)
            and all(f.ok for f in self.python)
            and self.tests is not None
            and self.tests.ok
            and self.main is not None
            and self.main.ok
            and (self.examples is None or self.examples.ok)
        )

    def progress(self) -> tuple[int, int, int, int, int]:
        """How far the project has got, comparable across candidates: green, the goal's examples
        it answers right (facts the goal states outrank a demo main() that runs), runs, tests
        pass, clean files."""
        main_ok = self.main is not None and self.main.ok
        tests_ok = self.tests is not None and self.tests.ok
        return (
            int(self.green),
            passed(self.examples),
            int(main_ok),
            int(tests_ok),
            sum(f.ok for f in self.python),
        )

    def verdict(self) -> str:
        """Where the project stands, in a few words: what a run that did not finish leaves."""
        if self.main is None:
            return "no main.py yet"
        parts = ["main.py runs" if self.main.ok else "main.py fails when run"]
        if self.examples is not None:
            total = len((self.examples.report or {}).get("results") or [])
            parts.append(f"{passed(self.examples)} of {total} of the goal's examples right")
        parts.append(
            "no tests"
            if self.tests is None
            else "its tests pass"
            if self.tests.ok
            else "its tests fail"
        )
        bad = [f.path for f in self.python if not f.ok]
        if bad:
            parts.append(f"problems in {', '.join(bad[:3])}")
        return ", ".join(parts)

    def evidence(self) -> str:
        """What a verdict on this project rests on: the goal's examples when it states some (run,
        and compared outside the project), else only the project's own tests and the model's
        word."""
        if self.main is None:
            return "nothing yet: there is no main.py"
        if self.examples is not None:
            total = len((self.examples.report or {}).get("results") or [])
            tests = ", and its own tests pass" if self.tests is not None and self.tests.ok else ""
            return f"{passed(self.examples)} of {total} of the goal's examples right{tests}"
        if self.tests is not None and self.tests.ok:
            return "only its own tests and the model's judgement (the goal states no examples)"
        return "only the model's judgement (the goal states no examples; its own tests fail)"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        def proc(d: dict[str, Any] | None) -> ProcResult | None:
            return None if d is None else ProcResult(**d)

        python = tuple(FileReport(**f) for f in data["python"])
        return cls(
            tuple(data["files"]),
            python,
            proc(data["tests"]),
            proc(data["main"]),
            proc(data.get("examples")),
            tuple(data.get("main_args") or ()),
        )

    def summary(self) -> dict[str, Any]:
        """Small JSON-able view for trajectories and progress lines."""
        return {
            "files": list(self.files),
            "file_errors": {f.path: f.error for f in self.python if f.error},
            "tests_ok": None if self.tests is None else self.tests.ok,
            "main_ok": None if self.main is None else self.main.ok,
            "examples_ok": None if self.examples is None else self.examples.ok,
            **({"main_args": list(self.main_args)} if self.main_args else {}),
        }


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    evaluated_tokens: int = -1  # prompt tokens the model really evaluated (KV reuse); -1: unknown
    cost_usd: float = 0.0  # litellm's price list or the profile's; 0 for local and unknown models

    def __add__(self, other: Usage) -> Usage:
        known = self.evaluated_tokens >= 0 and other.evaluated_tokens >= 0
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.evaluated_tokens + other.evaluated_tokens if known else -1,
            self.cost_usd + other.cost_usd,
        )


@dataclass(frozen=True)
class Decision:
    """A model's reply: the chosen action and its arguments, or why the reply could not be used."""

    thought: str = ""
    action: str = ""
    args: dict[str, Any] = field(default_factory=dict)
    raw: str = ""
    error: str = ""  # set when the reply was malformed (unparseable, cut off, unknown action)
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    calls: int = 1  # model calls behind this decision (several when candidates were sampled)
    cached: int = 0  # of those calls, how many the response cache answered
    cut: bool = False  # the reply was cut short (token cap, loop guard): malformed, never applied
    late: bool = False  # cut at the run's time limit (Settings.until): the cache never keeps it

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Decision:
        """A Decision from stored JSON (cache, cassette, trajectory), checked field by field:
        anything ill-typed raises ValueError, never a Decision that fails later."""
        if not isinstance(data, dict):
            raise ValueError(f"a decision is a JSON object, not {type(data).__name__}")
        return _decisions().validate_python({k: v for k, v in data.items() if k in _DECISION_KEYS})


_DECISION_KEYS = tuple(f.name for f in fields(Decision))  # what from_json reads


@functools.lru_cache(maxsize=1)
def _decisions() -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(Decision)


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Step:
    """One observe -> decide -> act turn, as written to the trajectory."""

    index: int
    phase: Phase
    observation: dict[str, Any]
    decision: Decision
    result: ActionResult
    seconds: float
    snapshot: dict[str, str] | None = None  # the project it began with (Workspace.newest)

    def to_json(self) -> dict[str, Any]:
        out = {
            "type": "step",
            "step": self.index,
            "phase": self.phase,
            "observation": self.observation,
            "decision": self.decision.to_json(),
            "result": asdict(self.result),
            "seconds": round(self.seconds, 3),
        }
        return {**out, "snapshot": self.snapshot} if self.snapshot else out


@dataclass(frozen=True)
class RunResult:
    """What a run ended with; `--json` prints exactly this."""

    status: Status
    reason: str
    steps: int
    model_calls: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float
    model_s: float
    model: str
    project_dir: str
    trajectory: str
    malformed_actions: int = 0
    tool_mode: str = ""  # how actions reached the model: grammar, native, instructor (or scripted)
    # model calls the response cache answered (== model_calls on a cached rerun)
    cache_hits: int = 0
    evaluated_tokens: int = -1  # prompt tokens really evaluated, when the provider knows (KV reuse)
    cost_usd: float = 0.0
    kept: str = ""  # where the project was left when the run did not finish (Observation.verdict)
    evidence: str = ""  # what the verdict rests on (Observation.evidence), whatever the status

    @property
    def done(self) -> bool:
        return self.status == "done"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["wall_s"] = round(self.wall_s, 3)
        data["model_s"] = round(self.model_s, 3)
        return data


def passed(result: ProcResult | None) -> int:
    """How many examples a check passed, as its own report says (never what the program printed)."""
    results = ((result.report or {}).get("results") or []) if result is not None else []
    return sum(r is True for r in results) if isinstance(results, list) else 0


class Store(Protocol):
    """What is kept between runs, by key, as JSON-able values: the response cache (a
    diskcache.Cache) holds replies, observations, probes and model hashes in one."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> Any: ...

    def delete(self, key: str) -> Any: ...
