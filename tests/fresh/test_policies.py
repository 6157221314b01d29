"""The agent's collaborators on their own: Planner, Streaks, Sampler.best_of, Trials, Installer."""

from __future__ import annotations

from autocoder.actions import WriteFile
from autocoder.actions.plan import Plan
from autocoder.fresh.sampling import Sampler
from autocoder.fresh.trials import Trials
from autocoder.goal.brief import Brief
from autocoder.loop.planner import STUCK_LIMIT, Planner
from autocoder.loop.streaks import Streaks
from autocoder.project.packages import Installer
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider, Settings
from autocoder.sandbox import SAFE
from autocoder.state import Decision, FileReport, Observation, ProcResult, Usage

from ..conftest import GOOD_MAIN, GOOD_TEST

OK, FAIL = ProcResult(0, "", 0.1), ProcResult(1, "AssertionError", 0.1)


def obs(main: ProcResult = OK, tests: ProcResult | None = FAIL, printed: str = "") -> Observation:
    main = ProcResult(main.returncode, printed, 0.1) if printed else main
    files = (FileReport("main.py", GOOD_MAIN), FileReport("main_test.py", GOOD_TEST))
    return Observation(("main.py", "main_test.py"), files, tests, main)


def test_the_planner_restarts_after_stuck_limit_steps_on_one_problem():
    planner = Planner()
    phases = [planner.next(obs()).phase for _ in range(STUCK_LIMIT + 1)]
    assert phases == ["fix_tests"] * STUCK_LIMIT + ["restart"]


def test_the_planner_never_counts_judging_as_stuck():
    planner = Planner()
    green = obs(tests=OK)
    assert {planner.next(green).phase for _ in range(2 * STUCK_LIMIT)} == {"judge"}
    assert planner.stuck == 0


def test_the_planner_offers_only_the_tests_while_main_behaves_as_trusted():
    planner = Planner()
    trusted = obs(printed="55\n")
    todo = planner.next(trusted, trusted="exit 0\x1f55\n")
    offered = {path for a in todo.actions for path in a.model_fields["path"].annotation.__args__}
    assert todo.phase == "fix_tests" and offered == {"main_test.py"}
    other = planner.next(obs(printed="54\n"), trusted="exit 0\x1f55\n")  # main.py changed behaviour
    assert "main.py" in {
        p for a in other.actions for p in a.model_fields["path"].annotation.__args__
    }


def test_streaks_count_malformed_replies_in_a_row_and_failed_steps():
    streaks = Streaks()
    streaks.malformed()
    streaks.malformed()
    assert (streaks.malformed_in_row, streaks.malformed_total, streaks.failed_in_row) == (2, 2, 2)
    streaks.applied(False)
    assert (streaks.malformed_in_row, streaks.failed_in_row) == (0, 3)
    streaks.applied(True)
    assert (streaks.malformed_in_row, streaks.malformed_total, streaks.failed_in_row) == (0, 2, 0)


class FakeTrials:
    """Scores decisions by their thought (a number): the sampler's view of scratch copies."""

    examples = ()

    def score(self, decision: Decision, todo: Plan) -> tuple[int, ...]:
        return (0, int(decision.thought))


def test_best_of_keeps_the_first_that_gets_further_and_sums_every_call():
    sampler = Sampler(
        ScriptedProvider([]), Brief.read("g"), Settings(), 4, FakeTrials(), lambda: 60.0, print, 4
    )
    made = [Decision(thought=t, usage=Usage(10, 5), seconds=1.0) for t in ("1", "3", "9", "9")]
    asked = []

    def decide(attempt: int) -> Decision:
        asked.append(attempt)
        return made[attempt]

    todo = Plan("fix_tests", "fix", [WriteFile])
    decision, score = sampler.best_of(decide, todo, now=(0, 2))
    assert asked == [0, 1] and decision.thought == "3" and score == (0, 3)
    assert (decision.calls, decision.usage.prompt_tokens, decision.seconds) == (2, 20, 2.0)
    asked.clear()
    decision, score = sampler.best_of(decide, todo, now=(0, 99))  # none gets further: the best
    assert asked == [0, 1, 2, 3] and decision.thought == "9" and score == (0, 9)


def test_trials_reuse_the_observation_of_the_copy_that_was_applied(tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "p")
    ws.write("main.py", GOOD_MAIN)
    looked = []
    trials = Trials(ws, (), None, SAFE)
    monkeypatch.setattr(trials, "look", lambda w: looked.append(w.root) or obs(tests=OK))
    todo = Plan("fix_tests", "t", [WriteFile])
    decision = Decision(action="write_file", args={"path": "main_test.py", "content": GOOD_TEST})
    assert trials.attempt(decision, todo) is not None and looked[-1] != ws.root
    ws.write("main_test.py", GOOD_TEST)  # the step is taken: the project equals the copy
    trials.observe()
    assert len(looked) == 1  # reused, not observed again
    trials.observe()
    assert len(looked) == 2 and looked[-1] == ws.root


def test_the_installer_does_nothing_when_nothing_is_missing(tmp_path):
    records = []
    installer = Installer(tmp_path, (), SAFE, records.append)
    seen = obs(main=ProcResult(1, "NameError: x", 0.1))
    assert installer.fix(seen, obs) is seen and records == [] and not installer.tried
