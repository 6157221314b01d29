"""Never lose the goal: a step that writes the prompt's worked example, or leaves main.py without
a function the goal names, is never applied, however far it would get."""

from __future__ import annotations

import time

from autocoder.goal.brief import Brief
from autocoder.loop import prompt
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers.scripted import ScriptedProvider
from autocoder.state import Decision

from ..conftest import CREATE, FINISH, GOOD_MAIN, GOOD_TEST, reply
from .test_agent import records

GOAL = "main.py defines a function fib(n) that returns the first n Fibonacci numbers"


def run(tmp_path, replies, **config):
    result = Agent(
        ScriptedProvider(replies), Workspace(tmp_path), GOAL, AgentConfig(**config)
    ).run()
    steps = [x for x in records(result.trajectory) if x["type"] == "step"]
    return result, steps


def test_the_names_a_goal_gives_main_py():
    assert Brief.read(GOAL).names == {"fib"}
    stated = Brief.read("Write remove_occ(s, ch).\nassert remove_occ('hello', 'l') == 'heo'")
    assert stated.names == {"remove_occ"}
    given = Brief.read(
        'Complete:\n```python\ndef helper(x):\n    return x\n\n\ndef f(n):\n    """Doc."""\n```'
    )
    assert given.names == {"f"}  # the function it leaves to complete, not its helpers
    assert Brief.read("print hello").names == set()
    # a word before a bracket of prose is not a function's name
    assert Brief.read("A function that returns (by convention) None on []").names == set()
    assert Brief.read(GOAL).missing("def fibonacci(n):\n    return n\n") == {"fib"}


def test_a_reply_that_is_the_worked_example_verbatim_gets_nothing_applied(tmp_path):
    worked = next(t["content"] for t in prompt.examples() if t["role"] == "assistant")
    assert "def squares(n)" in worked  # the first worked reply, as the prompt shows it
    result, steps = run(tmp_path, [worked, CREATE, FINISH], max_steps=3)
    assert not steps[0]["result"]["ok"]
    assert "worked example" in steps[0]["result"]["message"]
    assert (
        not (tmp_path / "main.py").exists() or "squares" not in (tmp_path / "main.py").read_text()
    )
    assert result.status == "done" and (tmp_path / "main.py").read_text() == GOOD_MAIN


def test_a_step_that_drops_the_goals_function_is_refused(tmp_path):
    renamed = GOOD_MAIN.replace("def fib(", "def fibonacci(").replace(
        "print(fib(", "print(fibonacci("
    )
    drop = reply("write_file", path="main.py", content=renamed)
    result, steps = run(tmp_path, [CREATE, drop, FINISH], max_steps=3)
    assert [s["result"]["ok"] for s in steps] == [True, False, True]
    assert "no longer define fib, which the goal names" in steps[1]["result"]["message"]
    assert (tmp_path / "main.py").read_text() == GOOD_MAIN and result.status == "done"


# the prompt's worked example, rewritten into a file that does not parse (a run for a goal naming
# caesar(text, shift) wrote this; a broken file's names could not be read, so it was applied,
# and every later step was measured against it)
BROKEN_SQUARES = """def squares(n):
    return [i * i for i in range(1, n + 1)]


def test_main_runs_and_prints:
    print(squares(5))
"""


def test_a_broken_rewrite_that_drops_the_goals_function_is_refused(tmp_path):
    drop = reply("write_file", path="main.py", content=BROKEN_SQUARES)
    result, steps = run(tmp_path, [CREATE, drop, FINISH], max_steps=3)
    assert [s["result"]["ok"] for s in steps] == [True, False, True]
    assert "no longer define fib, which the goal names" in steps[1]["result"]["message"]
    assert (tmp_path / "main.py").read_text() == GOOD_MAIN and result.status == "done"
    assert Brief.read(GOAL).missing(BROKEN_SQUARES) == {"fib"}
    assert Brief.read(GOAL).missing(BROKEN_SQUARES.replace("squares", "fib")) == set()
    assert Brief.read(GOAL).missing("from fibs import fib\n\n\ndef main(:\n") == set()


def test_a_project_without_the_goals_function_is_never_judged_done(tmp_path):
    """Its tests pass and main.py runs, but it defines none of what the goal names: that is
    main.py's problem to fix, so the model is never asked to judge it, and `finish` is not
    taken."""
    squares = GOOD_MAIN.replace("fib", "squares")
    (tmp_path / "main.py").write_text(squares)
    (tmp_path / "main_test.py").write_text(GOOD_TEST.replace("fib", "squares"))
    result, steps = run(tmp_path, [FINISH, FINISH], max_steps=2)
    assert result.status != "done"
    assert [s["phase"] for s in steps] == ["fix_file", "fix_file"]
    problem = steps[0]["observation"]["file_errors"]["main.py"]
    assert problem.startswith("main.py does not define fib(), which the goal names")
    assert not any(s["result"]["ok"] for s in steps)


def test_a_repair_candidate_that_drops_the_function_ranks_below_every_other(tmp_path):
    """Best-of: the candidate that renames the function is scored as refused, so the one that
    keeps it is applied even when it is tried second."""
    broken = GOOD_MAIN.replace("    print(fib(10))", "    print(fib(10)")  # a syntax error
    renamed = GOOD_MAIN.replace("def fib(", "def fibonacci(").replace(
        "print(fib(", "print(fibonacci("
    )
    script = [
        reply(
            "create_project",
            main=broken,
            test="from main import fib\n\n\ndef test_fib():\n    assert fib(2) == [0, 1]\n",
        ),
        reply("write_file", path="main.py", content=renamed),
        reply("write_file", path="main.py", content=GOOD_MAIN),
    ]
    _, steps = run(tmp_path, script, max_steps=2, samples=2)
    assert steps[1]["result"]["ok"] and (tmp_path / "main.py").read_text() == GOOD_MAIN


class Slow(ScriptedProvider):
    """A scripted model that takes a second a reply."""

    def complete(self, messages, actions, settings):
        time.sleep(1.0)
        return super().complete(messages, actions, settings)


class UntilTheLimit(ScriptedProvider):
    """A scripted model whose replies after the first, like a local model's, run on until the
    run's time limit stops them (Settings.until): cut and late."""

    def __init__(self, replies):
        super().__init__(replies)
        self.untils: list[float] = []  # when each of those replies had to stop

    def complete(self, messages, actions, settings):
        if not self.calls:
            return super().complete(messages, actions, settings)
        self.calls.append(messages)
        self.untils.append(settings.until)
        time.sleep(max(0.0, settings.until - time.monotonic()))
        return Decision(
            raw="Thought: I", error="stopped at the run's time limit", cut=True, late=True
        )


def test_a_run_ends_within_its_time_limit_having_kept_back_time_for_its_last_checks(tmp_path):
    """Model calls stop at the time limit less what the run keeps back (Trials.reserve): the last
    observation, and a fresh start's screen and trial, fit within the limit."""
    provider = UntilTheLimit([CREATE])
    config = AgentConfig(time_limit_s=8.0)
    began = time.monotonic()
    result = Agent(provider, Workspace(tmp_path), GOAL, config).run()
    assert result.status == "stopped" and "wall-clock limit" in result.reason
    assert result.wall_s <= config.time_limit_s
    assert provider.untils and all(u <= began + config.time_limit_s - 1.0 for u in provider.untils)
    assert (
        result.kept.startswith("main.py runs") and (tmp_path / "main.py").read_text() == GOOD_MAIN
    )


def test_every_result_says_what_its_verdict_rests_on(tmp_path):
    result, _ = run(tmp_path / "a", [CREATE, FINISH])
    assert result.status == "done"
    assert result.evidence == (
        "only its own tests and the model's judgement (the goal states no examples)"
    )
    assert result.to_json()["evidence"] == result.evidence
    stated = "main.py defines fib(n): the first n Fibonacci numbers.\nfib(5) == [0, 1, 1, 2, 3]"
    ws = Workspace(tmp_path / "b")
    done = Agent(ScriptedProvider([CREATE, FINISH]), ws, stated, AgentConfig()).run()
    assert done.status == "done"
    assert done.evidence == "1 of 1 of the goal's examples right, and its own tests pass"


def test_a_time_limited_run_keeps_its_best_and_says_what_was_checked(tmp_path):
    broken = reply("write_file", path="main.py", content="def fib(n:\n")
    config = AgentConfig(time_limit_s=1.5)
    result = Agent(Slow([CREATE, broken, broken]), Workspace(tmp_path), GOAL, config).run()
    assert result.status == "stopped" and "wall-clock limit" in result.reason
    assert result.kept.startswith("main.py runs") and "its tests pass" in result.kept
    assert result.evidence.startswith("only its own tests")
    assert (tmp_path / "main.py").read_text() == GOOD_MAIN
