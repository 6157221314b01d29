"""What to ask next: the seed's order of phases (create, fix main.py, fix a file, fix the goal's
examples, fix the tests, judge), a fresh start when fixes keep meeting the same problem, and the
tests alone while main.py is trusted."""

from __future__ import annotations

from dataclasses import dataclass

from ..actions import (
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
from ..actions.plan import Plan
from ..fresh.select import behaviour
from ..project.observe import is_test_file
from ..state import Observation

EDITS: list[type[Action]] = [WriteFile, SearchReplace, ReplaceLines, InsertLines, RemoveLines]
JUDGE: list[type[Action]] = [Finish, *EDITS, CreateFile, DeleteFile]
STUCK_LIMIT = 3  # steps in one fix phase before starting the project afresh


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
        task = f"Running `{obs.command()}` failed. Fix the code so that it runs."
        return Plan("fix_main", task, edits)
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
