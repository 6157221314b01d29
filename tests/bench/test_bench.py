"""The bench: suites load (or fail clearly), acceptance tests stay hidden and judge, records
resume, a pool runs tasks on workers made once per process."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder.bench import pool, report
from autocoder.bench.goal import PLAIN_ASK, Goal
from autocoder.bench.options import BenchOptions, Task
from autocoder.bench.records import read_records
from autocoder.bench.runner import run_suite
from autocoder.bench.suite import load, load_goal
from autocoder.bench.worker import Worker, judge
from autocoder.cli import app
from autocoder.exceptions import AutocoderError
from autocoder.providers import ScriptedProvider
from autocoder.sandbox import SAFE

from ..fakes import HIDDEN, RIGHT, WRONG, Coder, Echo, no_model, solve, suite_folder

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "benchmarks" / "suites" / "samples"
REFERENCES = ROOT / "benchmarks" / "suites" / "references"
EMPTY_MAIN = 'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n'


def project(tmp_path: Path, main: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "main.py").write_text(main)
    return tmp_path


STATED = ROOT / "benchmarks" / "suites" / "stated"
COMMANDS = ROOT / "benchmarks" / "suites" / "commands"


def _goal_folders(suite: Path) -> list[str]:
    return sorted(p.name for p in suite.iterdir() if (p / "goal.toml").is_file())


# each goal folder of a suite with references, and its reference main.py: each sample and each
# command-line goal has its own; the stated suite (goals in the README's form) has one module for
# its twelve goals
REFERENCED = (
    [(SAMPLES / n, REFERENCES / n / "main.py") for n in _goal_folders(SAMPLES)]
    + [(STATED / n, REFERENCES / "stated" / "main.py") for n in _goal_folders(STATED)]
    + [(COMMANDS / n, REFERENCES / "commands" / n / "main.py") for n in _goal_folders(COMMANDS)]
)


@pytest.mark.parametrize(
    "folder, reference", REFERENCED, ids=[f"{f.parent.name}/{f.name}" for f, _ in REFERENCED]
)
def test_each_goal_passes_on_its_reference_and_fails_on_an_empty_main(folder, reference, tmp_path):
    """The samples, the stated suite and the command-line goals: their hidden tests hold what the
    goal says (for the last two, its examples and the edge cases its words imply), and an empty
    main.py fails them."""
    goal = load_goal(folder)
    ok, _, output = judge(project(tmp_path / "ref", reference.read_text()), goal, policy=SAFE)
    assert ok, output
    assert not judge(project(tmp_path / "empty", EMPTY_MAIN), goal, policy=SAFE)[0]


def test_the_samples_suite_has_at_least_twelve_goals_and_the_seeds_midi_goal():
    suite = load("samples")
    assert len(suite.goals) >= 12
    assert any("midi" in g.goal and "500 notes" in g.goal for g in suite.goals)


def test_humaneval_reads_all_164_problems_and_its_checks_judge(tmp_path):
    from autocoder.bench.humaneval import problems

    suite = load("humaneval")
    assert len(suite.goals) == 164
    for p, goal in list(zip(problems(), suite.goals, strict=True))[:6]:
        assert p["entry_point"] in goal.goal
        solved = p["prompt"] + p["canonical_solution"] + "\n\n" + EMPTY_MAIN
        assert judge(project(tmp_path / goal.name, solved), goal, policy=SAFE)[0], goal.name
        stub = p["prompt"] + "    return None\n\n\n" + EMPTY_MAIN
        assert not judge(project(tmp_path / (goal.name + "-stub"), stub), goal, policy=SAFE)[0]


@pytest.mark.parametrize(
    "toml, complaint",
    [
        ('goal = "x', "not valid TOML"),
        ("max_steps = 3\n", "needs goal"),
        ('goal = "x"\nsteps = 3\n', "unknown key 'steps'"),
        ('goal = "x"\nmax_steps = 0\n', "max_steps"),
        ('goal = "x"\ntimeout_s = "long"\n', "timeout_s"),
    ],
)
def test_a_bad_goal_toml_is_a_clear_error_naming_the_file(tmp_path, toml, complaint):
    goal = tmp_path / "suite" / "g1"
    goal.mkdir(parents=True)
    (goal / "goal.toml").write_text(toml)
    (goal / "test_g1.py").write_text(HIDDEN)
    with pytest.raises(AutocoderError, match=complaint) as exc:
        load(str(tmp_path / "suite"))
    assert str(goal / "goal.toml") in str(exc.value)
    result = CliRunner().invoke(
        app, ["bench", str(tmp_path / "suite"), "--out", str(tmp_path / "out")]
    )
    assert (
        result.exit_code == 2 and "goal.toml" in result.output and "Traceback" not in result.output
    )


def test_a_suite_without_goals_or_tests_is_refused(tmp_path):
    with pytest.raises(AutocoderError, match="no suite"):
        load(str(tmp_path / "missing"))
    with pytest.raises(AutocoderError, match="holds no goals"):
        load(str(tmp_path))
    (tmp_path / "g").mkdir()
    (tmp_path / "g" / "goal.toml").write_text('goal = "x"\n')
    with pytest.raises(AutocoderError, match="no acceptance test"):
        load(str(tmp_path))


def test_records_judge_with_hidden_tests_and_resume_skips_what_is_recorded(tmp_path):
    out = tmp_path / "out"
    suite = load(str(suite_folder(tmp_path)))
    coder = Coder(out, solve(RIGHT) + solve(WRONG))
    records = run_suite(suite, BenchOptions(samples=1), out, provider=coder)
    by_goal = {r["goal"]: r for r in records}
    assert by_goal["right"]["passed"] and not by_goal["wrong"]["passed"]
    assert by_goal["right"]["status"] == "done" and by_goal["right"]["steps"] == 2
    keys = {
        "suite",
        "goal",
        "try",
        "model",
        "tool_mode",
        "passed",
        "status",
        "steps",
        "model_calls",
        "cache_hits",
        "prompt_tokens",
        "completion_tokens",
        "cost_usd",
        "wall_s",
        "model_s",
        "harness_s",
        "malformed_actions",
        "error",
    }
    assert keys <= set(by_goal["right"])
    assert not list((out / "projects").rglob("test_hidden.py"))  # the judge worked on a copy
    manifest = json.loads((out / "manifest.json").read_text())
    assert (
        manifest["suite"] == "suite"
        and manifest["machine"]["cores"]
        and "api_key" not in manifest["options"]
    )

    with pytest.raises(AutocoderError, match="--resume"):
        run_suite(suite, BenchOptions(samples=1), out, provider=coder)
    calls = len(coder.calls)
    with pytest.raises(AutocoderError, match="recorded with samples=1, not 2"):
        run_suite(suite, BenchOptions(samples=2), out, resume=True, provider=coder)
    assert len(run_suite(suite, BenchOptions(samples=1), out, resume=True, provider=coder)) == 2
    assert len(coder.calls) == calls  # nothing ran again
    lines = (out / "records.jsonl").read_text().splitlines()
    (out / "records.jsonl").write_text("\n".join(x for x in lines if '"wrong"' not in x) + "\n")
    coder.replies.extend(solve(WRONG))  # the one goal left to run
    assert len(run_suite(suite, BenchOptions(samples=1), out, resume=True, provider=coder)) == 2
    assert len(coder.calls) == calls + 2 and not coder.replies and len(read_records(out)) == 2
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "defaults": {"samples": 4}}))
    with pytest.raises(AutocoderError, match="recorded with the defaults"):  # an older autocoder's
        run_suite(suite, BenchOptions(samples=1), out, resume=True, provider=coder)
    (out / "manifest.json").write_text(json.dumps(manifest))

    summary = report.write(out)
    assert summary["pass@1"] == 0.5 and summary["goals"] == 2 and summary["model_calls"] == 4
    assert (out / "report.md").read_text().count("| right |") == 1


def test_tries_give_pass_at_k_and_compare_draws_a_chart(tmp_path):
    suite = load(str(suite_folder(tmp_path)))
    for name in ("a", "b"):
        run_suite(
            suite,
            BenchOptions(samples=1, tries=2),
            tmp_path / name,
            provider=Coder(tmp_path / name, 2 * solve(RIGHT) + 2 * solve(WRONG)),
        )
        report.write(tmp_path / name)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    assert summary["tries"] == 2 and summary["pass@2"] == 0.5 and summary["records"] == 4
    chart = tmp_path / "chart.png"
    result = CliRunner().invoke(
        app, ["bench", "compare", str(tmp_path / "a"), str(tmp_path / "b"), "--chart", str(chart)]
    )
    assert result.exit_code == 0, result.output
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = CliRunner().invoke(app, ["bench", "compare", str(tmp_path / "a")])
    assert bad.exit_code == 2 and "at least two" in bad.output


def test_pass_at_k_is_the_unbiased_estimator():
    assert report.pass_at_k(10, 0, 1) == 0.0
    assert report.pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert report.pass_at_k(2, 1, 2) == 1.0
    assert report.pass_at_k(5, 1, 2) == pytest.approx(0.4)


def test_plain_makes_one_chat_turn_per_goal_and_judges_its_code_block(tmp_path):
    suite = load(str(suite_folder(tmp_path)))
    right = "Here it is:\n```python\ndef add(a, b):\n    return a + b\n```\nDone."
    wrong = "```python\ndef add(a, b):\n    return a * b\n```"
    provider = ScriptedProvider([right, wrong])
    records = run_suite(suite, BenchOptions(plain=True), tmp_path / "plain", provider=provider)
    assert [(r["goal"], r["passed"], r["status"], r["model_calls"]) for r in records] == [
        ("right", True, "plain", 1),
        ("wrong", False, "plain", 1),
    ]
    assert [c[-1]["content"] for c in provider.calls] == [g.plain for g in suite.goals]
    assert provider.calls[0] == [
        {"role": "user", "content": "Write add(a, b) returning the sum." + PLAIN_ASK}
    ]
    assert report.write(tmp_path / "plain")["mode"] == "plain"


def test_compare_states_the_lift_over_plain(tmp_path):
    suite = load(str(suite_folder(tmp_path)))
    wrong = "```python\ndef add(a, b):\n    return a * b\n```"
    plain = ScriptedProvider([wrong, wrong])
    plain.name = Coder.name  # the same model, asked plainly
    run_suite(suite, BenchOptions(plain=True), tmp_path / "plain", provider=plain)
    run_suite(
        suite,
        BenchOptions(samples=1),
        tmp_path / "agent",
        provider=Coder(tmp_path / "agent", solve(RIGHT) + solve(WRONG)),
    )
    for name in ("plain", "agent"):
        report.write(tmp_path / name)
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "compare",
            str(tmp_path / "plain"),
            str(tmp_path / "agent"),
            "--chart",
            str(tmp_path / "c.png"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "agent (agent) over plain plain: 50.0% vs 0.0%, lift +50.0 points" in result.output


def test_humaneval_plain_prompt_is_the_baselines():
    goal = next(g for g in load("humaneval", limit=1).goals)
    assert goal.plain.startswith(
        "Complete this Python function. Reply with the complete function in a ```python block."
    )
    assert goal.plain.endswith("```") and "def has_close_elements" in goal.plain
    assert goal.preamble == "from typing import List\n"


def test_a_pool_runs_every_task_on_workers_each_made_once_per_process():
    todo = [Task(Goal(f"g{n}", "x"), 0) for n in range(6)]
    records = list(pool.run(todo, Echo, 2))
    assert sorted(r["goal"] for r in records) == [t.goal.name for t in todo]
    by_pid: dict[int, list[int]] = {}
    for r in records:
        by_pid.setdefault(r["pid"], []).append(r["ran"])
    assert len(by_pid) == 2  # each worker is handed a task as it starts
    for ran in by_pid.values():  # one worker per process counts on: it was made once
        assert sorted(ran) == list(range(1, len(ran) + 1))


def test_a_pool_worker_that_cannot_start_or_dies_is_one_clear_error():
    todo = [Task(Goal("g", "x"), 0), Task(Goal("h", "x"), 0)]
    with pytest.raises(AutocoderError, match=r"no model at /nowhere\.gguf"):
        list(pool.run(todo, no_model, 2))
    with pytest.raises(AutocoderError, match=r"a bench worker stopped \(exit code 3\)"):
        list(pool.run([Task(Goal("die", "x"), 0), *todo], Echo, 2))


def test_a_pool_workers_local_model_gets_its_share_of_the_cores(monkeypatch, tmp_path):
    asked = {}

    def resolve(model, **kwargs):
        asked.update(kwargs, model=model)
        return ScriptedProvider([])

    monkeypatch.setattr("autocoder.providers.resolve", resolve)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    options = BenchOptions(jobs=4, cache=False)
    worker = Worker.start(options, "suite", tmp_path, SAFE, pool.threads_per_worker(options.jobs))
    assert asked["threads"] == 2 and asked["model"] == "smollm2" and asked["store"] is None
    assert worker.policy is SAFE and worker.provider.name == "scripted"


def test_bench_out_that_is_a_file_or_a_system_folder_is_one_line(tmp_path):
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    suite = str(suite_folder(tmp_path))
    for out, why in ((taken, "is a file"), (Path("/"), "root folder"), (Path("/etc"), "system")):
        result = CliRunner().invoke(app, ["bench", suite, "--out", str(out)])
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
        assert len(result.stderr.strip().splitlines()) == 1 and why in result.stderr
    assert taken.read_text() == "mine"


@pytest.mark.parametrize("plant", ["folder", "fifo", "link"])
def test_a_broken_goal_is_skipped_in_one_line_and_never_stops_the_bench(tmp_path, plant):
    # issue 24: a folder named like a goal's acceptance file stopped the whole bench, and again
    # on every --resume
    import os

    suite = suite_folder(tmp_path)
    broken = suite / "broken"
    broken.mkdir()
    (broken / "goal.toml").write_text('goal = "x"\n')
    where = broken / "test_hidden.py"
    if plant == "folder":
        where.mkdir()
        (where / "x.py").write_text(HIDDEN)
    elif plant == "fifo":
        os.mkfifo(where)
    else:
        where.symlink_to("/etc/passwd")
    loaded = load(str(suite))
    assert [g.name for g in loaded.goals] == ["right", "wrong"]
    (line,) = loaded.skipped
    assert str(where) in line and "\n" not in line
    out = tmp_path / "out"
    for resume, replies in ((False, solve(RIGHT) + solve(WRONG)), (True, [])):
        coder = Coder(out, replies)
        records = run_suite(load(str(suite)), BenchOptions(samples=1), out, resume, provider=coder)
        assert sorted(r["goal"] for r in records) == ["right", "wrong"]


def test_a_goal_that_fails_to_run_or_be_judged_is_its_own_record(tmp_path, monkeypatch):
    from autocoder.bench import worker

    def unjudgeable(project, goal, policy):
        raise IsADirectoryError(21, "Is a directory", str(project / "test_hidden.py"))

    real = Worker._agent

    def agent(self, goal, project, settings):
        if goal.name == "right":
            raise RecursionError("maximum recursion depth exceeded")
        return real(self, goal, project, settings)

    monkeypatch.setattr(worker, "judge", unjudgeable)
    monkeypatch.setattr(Worker, "_agent", agent)
    out = tmp_path / "out"
    suite = load(str(suite_folder(tmp_path)))
    records = run_suite(suite, BenchOptions(samples=1), out, provider=Coder(out, solve(WRONG)))
    by_goal = {r["goal"]: r for r in records}
    assert by_goal["right"]["status"] == "error" and not by_goal["right"]["passed"]
    assert by_goal["right"]["error"] == "RecursionError: maximum recursion depth exceeded"
    assert by_goal["wrong"]["judge_output"].startswith("the judge could not run: [Errno 21]")
    assert read_records(out) == records  # each a valid record: --resume reads them back


def test_the_ceiling_script_judges_every_recorded_candidate_by_the_hidden_tests(tmp_path):
    """benchmarks/candidates_ceiling.py: a run that chose a wrong candidate where a right one was
    recorded shows the right one as the ceiling it missed."""
    import subprocess
    import sys

    suite = suite_folder(tmp_path)
    runs = tmp_path / "run" / "projects" / "right" / "try0" / ".autocoder" / "runs"
    runs.mkdir(parents=True)
    rows = [
        {"candidate": i, "chosen": i == 0, "agree": 1, "main": main, "screen": None}
        for i, main in enumerate((WRONG, RIGHT))
    ]
    select = {"type": "select", "step": 1, "candidates": rows, "chosen": 0, "why": ""}
    (runs / "t.jsonl").write_text(json.dumps({"type": "run"}) + "\n" + json.dumps(select) + "\n")
    out = subprocess.run(
        [sys.executable, ROOT / "benchmarks" / "candidates_ceiling.py", tmp_path / "run", suite],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "some candidate passes the hidden tests (the ceiling): 1" in out
    assert "a chosen candidate passes: 0" in out and "missed: right, candidates [1] pass" in out
