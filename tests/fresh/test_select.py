"""Selection by execution: examples first, then agreement; fresh starts from plain candidates;
a step that would leave the project worse is not applied."""

from __future__ import annotations

import json

from autocoder.fresh import candidates
from autocoder.fresh.select import Trial, choose
from autocoder.goal import examples
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider
from autocoder.sandbox import SAFE

from ..conftest import reply


def trial(examples_right: int, behaviour: str, runs: int = 1) -> Trial:
    return Trial((0, examples_right, runs, 0, 1), behaviour)


def test_a_right_minority_beats_an_agreeing_wrong_majority_on_the_goals_examples():
    trials = [trial(0, "1"), trial(0, "1"), trial(0, "1"), trial(2, "5")]
    chosen, table, why = choose(trials)
    assert chosen == 3 and "examples right" in why
    assert [row["agree"] for row in table] == [3, 3, 3, 1] and table[3]["chosen"]


def test_a_consensus_group_beats_a_lone_outlier():
    chosen, _table, why = choose([trial(0, "y"), trial(0, "x"), trial(0, "x")])
    assert chosen == 1 and why.startswith("2 of 3 candidates")


def test_a_crash_agrees_with_nothing_and_a_run_beats_it():
    chosen, _, _ = choose([Trial((0, -1), ""), Trial((0, 0, 0, 0, 1), ""), trial(0, "out")])
    assert chosen == 2


def test_with_nothing_to_tell_them_apart_the_first_wins():
    chosen, _, why = choose([trial(0, "a"), trial(0, "b")])
    assert chosen == 0 and "came first" in why


def test_a_reply_becomes_a_main_py_the_checks_accept():
    given = 'from typing import List\n\ndef total(xs: List[int]) -> int:\n    """Sum."""'
    code = candidates.normalize(
        "def total(xs):\n    return sum(xs)\n\nprint(total([1, 2]))\n", given, ()
    )
    assert (
        code.startswith("from typing import List")
        and "def main():\n    print(total([1, 2]))" in code
    )
    assert code.rstrip().endswith("main()") and '__name__ == "__main__"' in code
    kept = candidates.normalize("def main():\n    print(1)\n\nprint(2)\n", "", ())
    # a loose statement beside main() is dropped
    assert "print(2)" not in kept and "print(1)" in kept
    # the checks say what is wrong
    assert candidates.normalize("def broken(:\n", "", ()) == "def broken(:\n"
    runnable = candidates.normalize("def fibonacci(n=10):\n    return [0, 1][:n]\n", "", ())
    assert "def main():\n    print(fibonacci())" in runnable
    needs_input = "def fibonacci(n):\n    return [0, 1][:n]\n"
    assert candidates.normalize(needs_input, "", ()) == needs_input  # no main() is made up for it
    assert candidates.extract("Sure:\n```python\nx = 1\n```\nmore") == "x = 1\n"
    assert candidates.code("Sure:\n```python\nx = 1\n```\nmore") == "x = 1\n"
    assert candidates.code("Sure:\n```python\nx = 1") == "x = 1"  # stopped at its closing fence
    # the plain call's rule
    assert candidates.extract("Sure:\n```python\nx = 1") == "Sure:\n```python\nx = 1"


def test_the_goals_examples_become_the_first_tests():
    goal_examples = examples.extract("add(2, 3) == 5\nadd(0, 0) == 0")
    tests = candidates.first_tests(goal_examples)
    assert "assert (add(2, 3)) == (5)" in tests and "assert (add(0, 0)) == (0)" in tests
    assert candidates.first_tests(()) == candidates.SMOKE_TEST


GOAL = "Write add(a, b).\n\n    add(2, 3) == 5\n    add(1, 1) == 2\n"
WRONG = "```python\ndef add(a, b):\n    return a * b\n```"
RIGHT = "Here:\n```python\ndef add(a, b):\n    return a + b\n```"


def test_a_fresh_start_samples_plain_candidates_and_keeps_the_one_the_examples_choose(tmp_path):
    provider = ScriptedProvider([WRONG, RIGHT])
    agent = Agent(
        provider, Workspace(tmp_path), GOAL, AgentConfig(max_steps=2, samples=3, plain_start=True)
    )
    result = agent.run()
    assert result.status == "done", result.reason
    assert provider.calls[0] == [{"role": "user", "content": GOAL + candidates.ASK}]
    assert "return a + b" in (tmp_path / "main.py").read_text()
    assert "assert (add(2, 3)) == (5)" in (tmp_path / "main_test.py").read_text()
    with open(result.trajectory, encoding="utf-8") as fh:
        lines = [json.loads(x) for x in fh]
    select = next(x for x in lines if x["type"] == "select")
    # stopped early
    assert select["chosen"] == 1 and [c["examples_right"] for c in select["candidates"]] == [0, 2]
    assert "examples right" in select["why"] and result.model_calls == 2


def test_a_step_that_would_leave_the_project_worse_is_not_applied(tmp_path):
    ws = Workspace(tmp_path)
    right = "def add(a, b):\n    return a + b\n\n\ndef main():\n    print(add(2, 3))\n"
    ws.write("main.py", right + '\n\nif __name__ == "__main__":\n    main()\n')
    # a wrong test
    ws.write(
        "main_test.py", "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 6\n"
    )
    before = ws.read("main.py")
    cheat = reply("write_file", path="main.py", content=right.replace("a + b", "a + b + 1"))
    provider = ScriptedProvider([cheat, cheat])  # both candidates "fix" the test by breaking main
    result = Agent(provider, ws, GOAL, AgentConfig(max_steps=1, samples=2, plain_start=True)).run()
    with open(result.trajectory, encoding="utf-8") as fh:
        step = next(json.loads(x) for x in fh if '"type": "step"' in x)
    assert step["phase"] == "fix_tests" and not step["result"]["ok"]
    assert step["result"]["message"].startswith("not applied: the project would rank lower")
    assert ws.read("main.py") == before


def test_programs_that_print_nothing_agree_on_nothing(tmp_path):
    from autocoder.fresh.select import behaviour
    from autocoder.project.observe import observe

    ws = Workspace(tmp_path)
    ws.write("main.py", "def f():\n    return 1\n", fmt=False)
    assert behaviour(observe(ws, policy=SAFE)) == ""
    ws.write("main.py", 'def main():\n    print(1)\n\n\nif __name__ == "__main__":\n    main()\n')
    assert behaviour(observe(ws, policy=SAFE)) == "exit 0\x1f1\n"


def test_when_main_is_the_chosen_behaviour_its_failing_tests_are_rewritten_not_main(tmp_path):
    (tmp_path / "other_test.py").write_text(
        "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 6\n"
    )
    fix_main = reply("write_file", path="main.py", content="def add(a, b):\n    return 6\n")
    fix_test = reply(
        "write_file",
        path="other_test.py",
        content="from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    )
    # the step's candidates: main first
    provider = ScriptedProvider([RIGHT, RIGHT, fix_main, fix_test])
    result = Agent(
        provider, Workspace(tmp_path), GOAL, AgentConfig(max_steps=2, samples=2, plain_start=True)
    ).run()
    with open(result.trajectory, encoding="utf-8") as fh:
        steps = [json.loads(x) for x in fh if '"type": "step"' in x]
    assert [s["phase"] for s in steps] == ["create", "fix_tests"] and steps[1]["result"]["ok"]
    assert "the tests are wrong" in provider.calls[2][-1]["content"]
    # main.py was not offered: the test was fixed
    assert "return a + b" in (tmp_path / "main.py").read_text()
    assert "== 5" in (tmp_path / "other_test.py").read_text()


def test_a_steady_candidate_beats_a_larger_shaky_group_answering_as_many_examples():
    trials = [Trial((1, 2), "a", shaky=True), Trial((1, 2), "a", shaky=True), Trial((1, 2), "b")]
    best, table, why = choose(trials)
    assert best == 2 and [r["shaky"] for r in table] == [True, True, False]
    assert "raised on a probe or answered every input alike" in why
    # more examples right still comes first
    assert choose([Trial((1, 2), "a", shaky=True), Trial((1, 1), "b")])[0] == 0
