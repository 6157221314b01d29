"""The loop's logic, driven by scripted replies: every branch, including malformed ones."""

import json
from pathlib import Path

import pytest

from autocoder.exceptions import Interrupted
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import ReplayProvider, ScriptedProvider
from autocoder.state import Decision

from ..conftest import CREATE, FINISH, GOOD_MAIN, GOOD_TEST, reply

GOAL = "Create main.py that prints the first 10 Fibonacci numbers"


def run(tmp_path, replies, confirm=None, **config):
    ws = Workspace(tmp_path)
    provider = ScriptedProvider(replies)
    result = Agent(provider, ws, GOAL, AgentConfig(**config), confirm=confirm).run()
    return result, provider, records(result.trajectory)


def records(trajectory) -> list[dict]:
    """The trajectory file's records, one JSON object a line."""
    return [json.loads(x) for x in Path(trajectory).read_text(encoding="utf-8").splitlines()]


def test_create_then_finish_is_done(tmp_path):
    result, provider, lines = run(tmp_path, [CREATE, FINISH])
    assert result.status == "done" and result.steps == 2 and result.model_calls == 2
    assert (tmp_path / "main.py").read_text() == GOOD_MAIN
    assert [x["type"] for x in lines] == ["run", "step", "step", "result"]
    assert [x["phase"] for x in lines[1:3]] == ["create", "judge"]
    assert (
        lines[2]["observation"]["tests_ok"] is True and lines[2]["observation"]["main_ok"] is True
    )
    assert lines[-1]["status"] == "done"
    # system and worked examples are the same for every step and goal (a KV-cache prefix);
    # the ask carries the goal, and an empty project is offered create_project alone
    first, second = provider.calls
    assert first[:-1] == second[:-1] and GOAL not in str(first[:-1])
    assert GOAL in first[-1]["content"] and "- create_project:" in first[-1]["content"]
    assert "- write_file:" not in first[-1]["content"] and "- finish:" in second[-1]["content"]


def test_the_seed_order_fix_main_then_files_then_tests(tmp_path):
    # all three problems at once: main.py does not run, a helper fails validation, a test fails
    (tmp_path / "util.py").write_text("def helper():\n    return 1  # TODO\n")
    broken_main = GOOD_MAIN.replace("print(fib(10))", "print(fib(10)")
    bad_test = GOOD_TEST.replace("[0, 1, 1, 2, 3]", "[1]")
    script = [
        reply("create_project", main=broken_main, test=bad_test),
        reply("write_file", path="main.py", content=GOOD_MAIN),
        reply("write_file", path="util.py", content="def helper():\n    return 1\n"),
        reply("write_file", path="main_test.py", content=GOOD_TEST),
        FINISH,
    ]
    result, provider, lines = run(tmp_path, script)
    assert [x["phase"] for x in lines if x["type"] == "step"] == [
        "create",
        "fix_main",
        "fix_file",
        "fix_tests",
        "judge",
    ]
    assert result.status == "done"
    fix_main, fix_file, fix_tests = (provider.calls[i][-1]["content"] for i in (1, 2, 3))
    # each ask names the first problem in the seed's order while the later ones are still there
    assert "SyntaxError" in fix_main and "Task: Running `python main.py` failed" in fix_main
    assert "util.py: PROBLEM: contains a TODO" in fix_main and "pytest: FAILED" in fix_main
    assert "Task: util.py has a problem: contains a TODO" in fix_file
    assert "pytest: FAILED" in fix_file
    assert "Task: The tests fail" in fix_tests and "util.py: ok" in fix_tests


def test_invalid_file_is_fixed_before_tests(tmp_path):
    (tmp_path / "main.py").write_text(GOOD_MAIN)
    (tmp_path / "main_test.py").write_text(
        "from util import helper\n\n\ndef test_helper():\n    assert helper() == 2\n"
    )
    (tmp_path / "util.py").write_text("def helper():\n    return 1  # TODO\n")
    script = [reply("write_file", path="util.py", content="def helper():\n    return 2\n"), FINISH]
    result, provider, lines = run(tmp_path, script)
    assert [x["phase"] for x in lines if x["type"] == "step"] == ["fix_file", "judge"]
    assert "util.py has a problem" in provider.calls[0][-1]["content"] and result.status == "done"


def test_a_step_that_breaks_a_green_project_is_not_applied(tmp_path):
    broken = reply("create_file", path="util.py", content="def helper(:\n", test="import util\n")
    result, _, lines = run(tmp_path, [CREATE, broken, FINISH])
    steps = [x for x in lines if x["type"] == "step"]
    assert [s["phase"] for s in steps] == ["create", "judge", "judge"] and result.status == "done"
    assert not steps[1]["result"]["ok"] and "not applied" in steps[1]["result"]["message"]
    assert not (tmp_path / "util.py").exists()


def test_three_malformed_replies_in_a_row_end_the_run(tmp_path):
    result, _, lines = run(
        tmp_path, ["no action here", "Action: nope", reply("finish", reason="x")]
    )
    assert result.status == "malformed" and result.steps == 3 and result.malformed_actions == 3
    assert not (tmp_path / "main.py").exists()  # nothing malformed was ever applied
    assert all(not x["result"]["ok"] for x in lines if x["type"] == "step")


def test_malformed_count_resets_after_a_good_reply(tmp_path):
    result, provider, _ = run(tmp_path, ["junk", "junk", CREATE, "junk", "junk", FINISH])
    assert result.status == "done" and result.malformed_actions == 4
    assert "ERROR: no `Action:` line" in provider.calls[1][-1]["content"]  # the error went back


def test_finish_is_refused_until_everything_passes(tmp_path):
    failing = GOOD_TEST.replace("[0, 1, 1, 2, 3]", "[9]")
    script = [
        reply("create_project", main=GOOD_MAIN, test=failing),
        reply("finish", reason="looks done"),
    ]
    result, _, lines = run(tmp_path, script, max_steps=2)
    assert result.status == "max_steps"
    assert lines[2]["phase"] == "fix_tests" and not lines[2]["result"]["ok"]
    assert "unknown action 'finish'; choose one of: write_file" in lines[2]["result"]["message"]


def test_bad_arguments_never_touch_the_disk(tmp_path):
    script = [
        CREATE,
        reply("write_file", path="../escape.py", content="x = 1\n"),
        reply("create_file", path="../escape.py", content="x = 1\n", test="y = 1\n"),
        reply("delete_file", path="main.py"),
        reply("search_replace", path="main.py", search="not in the file\n", replace="y\n"),
        FINISH,
    ]
    result, _, lines = run(tmp_path, script)
    steps = [x for x in lines if x["type"] == "step"]
    assert "path: Input should be 'main.py' or 'main_test.py'" in steps[1]["result"]["message"]
    assert "not a new module name" in steps[2]["result"]["message"]
    assert "cannot be deleted" in steps[3]["result"]["message"]
    assert "not found" in steps[4]["result"]["message"]
    assert (
        not (tmp_path.parent / "escape.py").exists()
        and (tmp_path / "main.py").read_text() == GOOD_MAIN
    )
    assert result.status == "done"


def test_edits_by_line_and_by_search(tmp_path):
    script = [
        CREATE,
        reply(
            "search_replace", path="main.py", search="print(fib(10))\n", replace="print(fib(12))\n"
        ),
        reply("insert_lines", path="main.py", line="1", content='"""Fibonacci."""\n'),
        reply("remove_lines", path="main.py", start="1", end="1"),
        FINISH,
    ]
    result, _, _ = run(tmp_path, script)
    assert result.status == "done"
    assert "print(fib(12))" in (tmp_path / "main.py").read_text()
    assert not (tmp_path / "main.py").read_text().startswith('"""')


def test_max_steps_and_snapshots_of_each_change(tmp_path):
    (tmp_path / "notes.py").write_text("# the user's file\n")
    result, _, _ = run(
        tmp_path,
        [CREATE, reply("write_file", path="notes.py", content="X = 1\nY = 2\n")],
        max_steps=2,
    )
    assert result.status == "max_steps"
    ws = Workspace(tmp_path)
    assert len(ws.snapshots()) == 2  # before step 1 (user's file alone) and before step 2
    assert (tmp_path / "notes.py").read_text() == "X = 1\nY = 2\n"
    ws.undo()  # back to before step 2: the user's file as it was, the project as created
    assert (tmp_path / "notes.py").read_text() == "# the user's file\n"
    assert (tmp_path / "main.py").read_text() == GOOD_MAIN
    ws.undo()  # back to before step 1: only the user's file
    assert ws.files() == ["notes.py"]


def test_step_mode_quit_and_ctrl_c_stop_cleanly(tmp_path):
    answers = iter([True, False])
    result, _, _ = run(tmp_path, [CREATE, FINISH], confirm=lambda i: next(answers))
    assert result.status == "stopped" and result.steps == 1 and "step mode" in result.reason

    class CtrlC(ScriptedProvider):
        def complete(self, *a):
            raise KeyboardInterrupt

    other = tmp_path / "other"
    other.mkdir()
    (other / "main.py").write_text(GOOD_MAIN)
    res = Agent(CtrlC([]), Workspace(other), GOAL).run()
    assert res.status == "stopped" and (other / "main.py").read_text() == GOOD_MAIN


def test_wall_clock_limit(tmp_path):
    result, _, _ = run(tmp_path, [CREATE, FINISH], time_limit_s=1e-9)
    assert result.status == "stopped" and "wall-clock" in result.reason and result.steps == 0


def test_a_provider_crash_is_an_error_status(tmp_path):
    class Broken(ScriptedProvider):
        def complete(self, *a):
            raise ConnectionError("server went away")

    result = Agent(Broken([]), Workspace(tmp_path), GOAL).run()
    assert result.status == "error" and "server went away" in result.reason


def test_decisions_carry_usage_into_the_totals(tmp_path):
    from autocoder.actions import CreateProject
    from autocoder.actions.textformat import parse
    from autocoder.state import Usage

    _, name, args = parse(CREATE, [CreateProject])
    d = Decision(thought="t", action=name, args=args, usage=Usage(100, 20), seconds=0.5)
    result, _, _ = run(tmp_path, [d], max_steps=1)
    assert (result.prompt_tokens, result.completion_tokens, result.model_s) == (100, 20, 0.5)


def test_replay_re_executes_a_trajectory(tmp_path):
    first = tmp_path / "first"
    first.mkdir()
    result, _, _ = run(
        first,
        [
            CREATE,
            reply("write_file", path="main.py", content=GOOD_MAIN.replace("10", "12")),
            FINISH,
        ],
    )
    second = tmp_path / "second"
    second.mkdir()
    again = Agent(ReplayProvider(result.trajectory), Workspace(second), GOAL).run()
    assert (again.status, again.steps) == ("done", 3)
    assert (second / "main.py").read_text() == (first / "main.py").read_text()


def test_replay_that_runs_out_stops(tmp_path):
    (tmp_path / "a").mkdir()
    result, _, _ = run(tmp_path / "a", [CREATE], max_steps=1)
    other = tmp_path / "b"
    other.mkdir()
    again = Agent(ReplayProvider(result.trajectory), Workspace(other), GOAL).run()
    assert again.status == "stopped" and "no more replies" in again.reason
    with pytest.raises(Interrupted):
        ScriptedProvider([]).complete([], [], None)


def test_stuck_on_one_problem_starts_afresh_and_samples(tmp_path):
    failing = GOOD_TEST.replace("[0, 1, 1, 2, 3]", "[9]")
    same_fix = reply("write_file", path="main.py", content=GOOD_MAIN)
    script = [
        reply("create_project", main=GOOD_MAIN, test=failing),
        same_fix,
        same_fix,
        same_fix,
        CREATE,
        FINISH,
    ]
    temps = []

    class Recording(ScriptedProvider):
        def complete(self, messages, actions, settings):
            temps.append(settings.temperature)
            return super().complete(messages, actions, settings)

    ws = Workspace(tmp_path)
    result = Agent(Recording(script), ws, GOAL).run()
    lines = records(result.trajectory)
    phases = [x["phase"] for x in lines if x["type"] == "step"]
    assert phases == ["create", "fix_tests", "fix_tests", "fix_tests", "restart", "judge"]
    assert result.status == "done"
    assert temps[:2] == [0.0, 0.0] and temps[2:5] == [0.7, 0.7, 0.7] and temps[5] == 0.0


def test_an_internal_bug_still_ends_with_a_recorded_result(tmp_path, monkeypatch):
    def broken(ws, *args, **kwargs):
        raise RuntimeError("observe blew up")

    monkeypatch.setattr("autocoder.project.observe.observe", broken)
    result, _, lines = run(tmp_path, [CREATE])
    assert result.status == "error" and "observe blew up" in result.reason
    assert lines[-1]["type"] == "result" and lines[-1]["status"] == "error"


def test_an_existing_main_without_tests_gets_main_test_written(tmp_path):
    (tmp_path / "main.py").write_text(GOOD_MAIN)
    result, provider, lines = run(
        tmp_path, [reply("write_file", path="main_test.py", content=GOOD_TEST), FINISH]
    )
    assert [x["phase"] for x in lines if x["type"] == "step"] == ["fix_tests", "judge"]
    assert "There are no tests" in provider.calls[0][-1]["content"]
    assert result.status == "done" and (tmp_path / "main_test.py").read_text() == GOOD_TEST


def test_a_fresh_start_keeps_the_first_candidate_that_passes(tmp_path):
    failing = reply(
        "create_project", main=GOOD_MAIN, test=GOOD_TEST.replace("[0, 1, 1, 2, 3]", "[9]")
    )
    result, provider, lines = run(tmp_path, ["junk", failing, CREATE, FINISH], samples=4)
    steps = [x for x in lines if x["type"] == "step"]
    assert [s["phase"] for s in steps] == ["create", "judge"]
    assert steps[0]["decision"]["calls"] == 3 and result.model_calls == 4 and result.steps == 2
    assert result.status == "done" and (tmp_path / "main_test.py").read_text() == GOOD_TEST
    assert not provider.replies  # the fourth candidate was never asked for
    assert sorted(p.name for p in tmp_path.iterdir()) == [".autocoder", "main.py", "main_test.py"]


def test_when_no_candidate_passes_the_furthest_is_kept(tmp_path):
    broken = reply("create_project", main="def main(:\n    pass\n", test=GOOD_TEST)
    runs = reply("create_project", main=GOOD_MAIN, test=GOOD_TEST.replace("[0, 1, 1, 2, 3]", "[9]"))
    result, _, _ = run(tmp_path, [broken, runs, broken], samples=3, max_steps=1)
    assert (tmp_path / "main.py").read_text() == GOOD_MAIN
    assert result.model_calls == 3 and result.status == "max_steps"


def test_a_fix_keeps_the_first_candidate_that_gets_further(tmp_path):
    failing = GOOD_TEST.replace("[0, 1, 1, 2, 3]", "[9]")
    (tmp_path / "main.py").write_text(GOOD_MAIN)
    (tmp_path / "main_test.py").write_text(failing)
    no_better = reply("write_file", path="main_test.py", content=failing)
    better = reply("write_file", path="main_test.py", content=GOOD_TEST)
    result, provider, lines = run(tmp_path, [no_better, better, FINISH], samples=3)
    steps = [x for x in lines if x["type"] == "step"]
    assert [s["phase"] for s in steps] == ["fix_tests", "judge"]
    assert steps[0]["decision"]["calls"] == 2 and result.model_calls == 3
    assert not provider.replies  # no third fix sample was asked for once the second got further
    assert result.status == "done" and (tmp_path / "main_test.py").read_text() == GOOD_TEST


def test_the_applied_trial_is_observed_once_not_twice(tmp_path, monkeypatch):
    import autocoder.project.observe as observe_module

    real, seen = observe_module.observe, []

    def counting(ws, *args, **kwargs):
        seen.append(ws.root)
        return real(ws, *args, **kwargs)

    monkeypatch.setattr(observe_module, "observe", counting)
    result, _, _ = run(tmp_path, [CREATE, FINISH], samples=2)
    assert result.status == "done"
    # step 1: the empty project, then the trial copy; step 2 reuses the trial's observation
    assert len(seen) == 2 and seen[0] == tmp_path and seen[1] != tmp_path


def test_crafted_path_escapes_are_refused_and_the_run_goes_on(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.py").write_text("secret = 1\n")
    project = tmp_path / "project"
    crafted = [
        Decision(
            action="write_file",
            args={"path": "/Users/john_doe/Desktop/Python/10-2.py", "content": "x = 1\n"},
        ),
        Decision(
            action="create_file",
            args={"path": "../outside/evil.py", "content": "x = 1\n", "test": "x = 1\n"},
        ),
        Decision(
            action="write_file", args={"path": "../outside/keep.py", "content": "secret = 2\n"}
        ),
        Decision(action="delete_file", args={"path": "main_test.py"}),
        Decision(action="write_file", args={"path": ".autocoder/runs/x.jsonl", "content": "{}\n"}),
    ]
    script = [
        CREATE,
        *crafted[:2],
        reply("write_file", path="main.py", content=GOOD_MAIN),
        *crafted[2:],
        FINISH,
    ]
    result = Agent(
        ScriptedProvider(script), Workspace(project), GOAL, AgentConfig(max_steps=10)
    ).run()
    lines = records(result.trajectory)
    outcomes = [s["result"] for s in lines if s["type"] == "step"]
    assert result.status == "done", result.reason
    assert [o["ok"] for o in outcomes] == [True, False, False, True, False, False, False, True]
    assert "cannot be deleted" in outcomes[5]["message"]
    assert (
        sorted(p.name for p in outside.iterdir()) == ["keep.py"]
        and (outside / "keep.py").read_text() == "secret = 1\n"
    )
    assert not Path("/Users/john_doe").exists() and (project / "main_test.py").exists()


def test_a_run_that_does_not_finish_says_where_it_left_the_project(tmp_path):
    result, _, lines = run(tmp_path, [CREATE], max_steps=1)
    assert result.status == "max_steps" and result.kept == "main.py runs, its tests pass"
    assert lines[-1]["kept"] == result.kept
    done, _, _ = run(tmp_path / "other", [CREATE, FINISH])
    assert done.done and done.kept == ""


def test_the_embedded_model_gets_three_minutes_by_default_others_thirty():
    from autocoder.loop.config import RunConfig

    assert RunConfig(goal="x").time_limit == 180
    assert RunConfig(goal="x", model="openai/gpt-4o-mini").time_limit == 1800
    assert RunConfig(goal="x", time_limit_s=5).time_limit == 5


def test_a_run_stopped_by_its_time_limit_keeps_its_best_and_says_so(tmp_path, monkeypatch):
    # the wall clock runs out after the first step, as it does for most runs on the embedded model
    monkeypatch.setattr(Agent, "_left", lambda self: -1.0 if self.steps else 60.0)
    result, _, lines = run(tmp_path, [CREATE, FINISH])
    assert result.status == "stopped" and "wall-clock" in result.reason
    assert result.kept == "main.py runs, its tests pass"
    assert lines[-1]["kept"] == result.kept
