"""What to ask next (the seed's order of phases) and the messages that ask it, rendered from
state."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

from . import scrub
from .actions import (
    Action,
    CreateFile,
    CreateProject,
    DeleteFile,
    Finish,
    InsertLines,
    RemoveLines,
    ReplaceLines,
    SearchReplace,
    WriteFile,
    narrow,
)
from .observe import is_test_file
from .providers.modes import MODES, Codec
from .sandbox import cap
from .select import behaviour
from .state import Decision, Observation, Phase, ProcResult, Step
from .textformat import FormatError, validate_args

EDITS: list[type[Action]] = [WriteFile, SearchReplace, ReplaceLines, InsertLines, RemoveLines]
JUDGE: list[type[Action]] = [Finish, *EDITS, CreateFile, DeleteFile]
HISTORY_STEPS = 5
STUCK_LIMIT = 3  # steps in one fix phase before starting the project afresh
OUTPUT_CHARS = 1500  # of a failing run's output, in the prompt
FILE_CHARS = 6000  # of one file's content, in the prompt


@dataclass(frozen=True)
class Plan:
    """The phase the project is in, what to ask, and the actions offered for it."""

    phase: Phase
    task: str
    actions: list[type[Action]]

    def action(self, name: str) -> type[Action] | None:
        return next((a for a in self.actions if a.name == name), None)

    def refusal(self, decision: Decision) -> str:
        """Why a well-formed reply cannot be applied now ("" when it can)."""
        action = self.action(decision.action)
        if action is None:
            names = ", ".join(a.name for a in self.actions)
            return f"action {decision.action!r} is not available now; choose one of: {names}"
        try:
            validate_args(action, decision.args)
        except FormatError as exc:
            return str(exc)
        return ""


@dataclass
class Planner:
    """The next ask: the seed's order (`plan`), a fresh start when fixes keep meeting the same
    problem, and the tests alone while main.py behaves as the `trusted` candidate did."""

    stuck: int = 0  # steps in a row that met the same unsolved problem
    last_phase: str = ""

    def next(self, obs: Observation, trusted: str = "") -> Plan:
        todo = plan(obs)
        again = todo.phase == self.last_phase and todo.phase != "judge"
        self.stuck, self.last_phase = (self.stuck + 1 if again else 0), todo.phase
        if self.stuck and self.stuck % STUCK_LIMIT == 0:
            return restart()
        if todo.phase == "fix_tests" and trusted and behaviour(obs) == trusted:
            return tests_only(obs)
        return todo


def _offer(actions: list[type[Action]], obs: Observation, only: str = "") -> list[type[Action]]:
    """The actions with their paths narrowed to the project's files (main.py first), or to
    `only`."""
    files = (
        (only,)
        if only
        else tuple(
            sorted((f for f in obs.files if f.endswith(".py")), key=lambda f: (f != "main.py", f))
        )
    )
    return [narrow(a, files) for a in actions]


def plan(obs: Observation) -> Plan:
    """The seed's order: create, then fix main.py, then fix files, then fix tests, then judge."""
    if obs.empty or "main.py" not in obs.files:
        return Plan(
            "create",
            "The project has no main.py yet. Create main.py and main_test.py for the goal.",
            [CreateProject],
        )
    edits = _offer(EDITS, obs)
    if obs.main is not None and not obs.main.ok:
        return Plan(
            "fix_main", "Running `python main.py` failed. Fix the code so that it runs.", edits
        )
    bad = next((f for f in obs.python if not f.ok), None)
    if bad is not None:
        task = f"{bad.path} has a problem: {bad.error.splitlines()[0]}. Fix {bad.path}."
        return Plan("fix_file", task, _offer(EDITS, obs, only=bad.path))
    if obs.examples is not None and not obs.examples.ok:
        task = (
            "Some of the goal's examples give wrong answers (see the examples check). "
            "Fix main.py so that each gives what the goal says."
        )
        return Plan("fix_examples", task, edits)
    if obs.tests is None:
        task = "There are no tests. Write main_test.py with pytest tests for main.py."
        return Plan("fix_tests", task, [narrow(WriteFile, ("main_test.py",))])
    if not obs.tests.ok:
        return Plan(
            "fix_tests",
            "The tests fail. Fix the code in main.py, or the tests if they are wrong.",
            edits,
        )
    task = (
        "All checks pass. If the code fully meets the goal, use finish. Otherwise change the code."
    )
    return Plan("judge", task, _offer(JUDGE, obs))


def tests_only(obs: Observation) -> Plan:
    """When main.py is the candidates' consensus (or answers the goal's examples) and the tests
    fail, the tests are what is wrong: a small model "fixing" main.py toward its own wrong test
    replaces a right answer. Only the test files may change."""
    tests = tuple(f for f in obs.files if is_test_file(f)) or ("main_test.py",)
    task = (
        "main.py is right (it answers as the goal's examples or the other candidates do); "
        "the tests are wrong. Fix the tests so that they test main.py correctly."
    )
    return Plan("fix_tests", task, [narrow(a, tests) for a in EDITS])


def restart() -> Plan:
    """When fixes keep failing on the same problem, a fresh attempt often beats one more repair."""
    task = "Fixing did not help. Write main.py and main_test.py again, from scratch, for the goal."
    return Plan("restart", task, [CreateProject])


def history_lines(steps: list[Step]) -> list[str]:
    """One line per recent step: what was done and what came of it."""
    lines = []
    for s in steps[-HISTORY_STEPS:]:
        d = s.decision
        what = d.action or "malformed reply"
        if d.args.get("path"):
            what += f" {d.args['path']}"
        lines.append(
            f"step {s.index}: {what} -> {'ok' if s.result.ok else 'ERROR: ' + s.result.message}"
        )
    return lines


@functools.lru_cache(maxsize=1)
def _env():
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("autocoder", "prompts"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def _trim(result: ProcResult | None) -> ProcResult | None:
    if result is None:
        return None
    return replace(result, output=cap(_clean(result.output), OUTPUT_CHARS))


def _clean(text: str) -> str:
    """Secrets and the user's home and name out of text for the model (observe.scrubbed has
    already made the project's paths relative; an install's note or a step's message may hold
    more)."""
    return scrub.Scrubber(places=scrub.home_places()).text(text)


@functools.lru_cache(maxsize=1)
def examples() -> list[dict[str, str]]:
    """Worked example turns (prompts/examples.txt): a small model copies their shape, so they
    are real."""
    text = _env().loader.get_source(_env(), "examples.txt")[0]
    turns = []
    for chunk in text.split("=== ")[1:]:
        role, _, content = chunk.partition("\n")
        turns.append({"role": role.strip(), "content": content.strip()})
    return turns


def messages(
    goal: str, obs: Observation, next_: Plan, steps: list[Step], codec: Codec = MODES["grammar"]
) -> list[dict[str, str]]:
    """System message and worked examples first (stable across steps and goals, so a local model
    reuses its KV cache for them), then the step's ask. The codec gives the system message's
    instruction and says whether the text-format examples are shown (tool calls and JSON replies
    are shaped by their schemas)."""
    env = _env()
    python = [
        replace(f, content=cap(f.content, FILE_CHARS), error=_clean(f.error)) for f in obs.python
    ]
    user = env.get_template("step.j2").render(
        goal=goal,
        files=obs.files,
        python=python,
        tests=_trim(obs.tests),
        main=_trim(obs.main),
        examples=_trim(obs.examples),
        history=[_clean(line) for line in history_lines(steps)],
        task=next_.task,
        actions=next_.actions,
    )
    system = env.get_template("system.j2").render(instruction=codec.instruction).strip()
    shown = examples() if codec.shows_examples else []
    return [
        {"role": "system", "content": system},
        *shown,
        {"role": "user", "content": user.strip()},
    ]
