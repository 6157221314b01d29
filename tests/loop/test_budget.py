"""One configuration for everyone, spent where it has measured value: a fresh start samples until
it is met, barren or out of time, and repairs on a goal stating examples go on only while they
move the project; `autocoder bench` runs exactly what `autocoder run` does."""

from __future__ import annotations

from autocoder.bench.humaneval import goals
from autocoder.bench.options import BenchOptions
from autocoder.fresh import sampling, shapes
from autocoder.loop import PATIENCE
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig, RunConfig
from autocoder.project.workspace import Workspace
from autocoder.providers.scripted import ScriptedProvider

from ..conftest import reply
from ..fresh.test_screen import GOAL, ONE_RIGHT, RIGHT, TIMES, Parallel, fenced
from .test_agent import records

SHOW = "\n\ndef main():\n    print(add(1, 1))\n"
TESTS = "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def write(main: str) -> str:
    return reply("write_file", path="main.py", content=main + SHOW)


def run(tmp_path, replies, goal=GOAL, **config):
    return Agent(ScriptedProvider(replies), Workspace(tmp_path), goal, AgentConfig(**config)).run()


def test_a_fresh_start_that_spent_its_sampling_ends_the_run_with_its_best_kept(tmp_path):
    """The greedy candidate and a round answer none of the examples (barren), or every candidate
    of two rounds misses one: the run ends there, stalled, without a repair step, the chosen
    candidate kept and what was checked said."""
    n = 1 + 2 * sampling.ROUND
    for first, rounds, why, kept, right in [
        (
            TIMES,
            [1, sampling.ROUND],
            f"none of {sampling.BARREN} candidates answered any",
            "a * b",
            0,
        ),
        (
            ONE_RIGHT,
            [1, sampling.ROUND, sampling.ROUND],
            f"the best of {n} candidates answers 1 of the goal's 2",
            "a + 1",
            1,
        ),
    ]:
        provider = Parallel([fenced(first)] + [fenced(TIMES)] * (n - 1))
        project = tmp_path / str(right)
        config = AgentConfig(samples=n, plain_start=True)
        result = Agent(provider, Workspace(project), GOAL, config).run()
        assert result.status == "stalled" and result.steps == 1
        assert why in result.reason and provider.rounds == rounds
        assert f"return {kept}" in (project / "main.py").read_text()
        assert result.evidence.startswith(f"{right} of 2 of the goal's examples")


def test_repairs_on_a_goal_stating_examples_go_on_only_while_they_move_it(tmp_path):
    """PATIENCE repair steps in a row that leave the project where it was end the run, the best
    version kept; one that moves it (one example right, then both) resets the count."""
    create = reply("create_project", main=ONE_RIGHT + SHOW, test=TESTS)
    result = run(tmp_path / "stuck", [create] + [write(TIMES)] * (PATIENCE + 3))
    assert result.status == "stalled" and result.steps == 1 + PATIENCE
    assert "return a + 1" in (tmp_path / "stuck" / "main.py").read_text()  # never regressed
    assert result.kept and result.evidence.startswith("1 of 2 of the goal's examples")
    moving = [create, write(TIMES), write(RIGHT)]
    result = run(tmp_path / "moves", moving)
    steps = [r for r in records(result.trajectory) if r["type"] == "step"]
    assert result.status == "done", result.reason
    assert [s["result"]["ok"] for s in steps] == [True, False, True]


def test_judgements_and_malformed_replies_are_not_repairs_that_failed(tmp_path):
    """Two malformed replies, then a fix: the run goes on (three in a row end it as malformed);
    a green project the model judges twice without finishing (a goal stating no examples: the
    model's word is asked only there) is not stalled either."""
    create = reply("create_project", main=ONE_RIGHT + SHOW, test=TESTS)
    finish = reply("finish", reason="add works")
    bad = "Thought: hmm\nAction: nothing\n"
    result = run(tmp_path / "bad", [create, bad, bad, write(RIGHT)])
    assert result.status == "done", result.reason
    green = reply("create_project", main=RIGHT + SHOW, test=TESTS)
    replies = [green, write(RIGHT), write(RIGHT), finish]
    result = run(tmp_path / "judged", replies, "Write add(a, b) that returns a + b.")
    assert result.status == "done" and result.steps == 4, result.reason


def test_every_example_right_is_done_without_the_models_word(tmp_path):
    """A green project answering every example the goal states is done on that evidence, no
    judging call; a goal stating none is done only when the model judges it so, and says so."""
    green = reply("create_project", main=RIGHT + SHOW, test=TESTS)
    provider = ScriptedProvider([green])
    result = Agent(provider, Workspace(tmp_path / "ex"), GOAL, AgentConfig()).run()
    assert result.status == "done" and len(provider.calls) == 1, result.reason
    assert result.reason.startswith("every example the goal states is right")
    assert result.evidence == "2 of 2 of the goal's examples right, and its own tests pass"
    provider = ScriptedProvider([green, reply("finish", reason="add works")])
    goal = "Write add(a, b) that returns a + b."
    result = Agent(provider, Workspace(tmp_path / "none"), goal, AgentConfig()).run()
    assert result.status == "done" and len(provider.calls) == 2, result.reason
    assert result.reason.startswith("the model judged the goal met")
    assert result.evidence.startswith("only its own tests and the model's judgement")


def test_a_goal_without_examples_has_only_repairs_to_reach_its_checks(tmp_path):
    """No examples, nothing to be barren on or to measure repairs by: they go on."""
    broken = reply("write_file", path="main.py", content="def add(a, b:\n")
    replies = [reply("create_project", main=TIMES, test=TESTS)] + [broken] * (PATIENCE + 2)
    result = run(tmp_path, replies, "Write add(a, b).", max_steps=PATIENCE + 3)
    assert result.status == "max_steps" and result.steps == PATIENCE + 3


def test_the_bench_runs_what_run_does_for_every_suite():
    """No suite carries its own candidates, reply length, steps or time limit: HumanEval's goals
    take the defaults a user of `autocoder run` gets."""
    run, bench = RunConfig(goal="x"), BenchOptions()
    assert (bench.candidates, bench.reply_tokens) == (run.samples, run.max_tokens)
    # the greedy one, a round, and a round of the goal as written (fresh/shapes.py)
    assert run.samples == 1 + sampling.ROUND + shapes.BLOCK
    for goal in goals():
        assert (goal.max_steps, goal.timeout_s) == (None, None), goal.name
