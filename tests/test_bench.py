"""The bench: suites load (or fail clearly), acceptance tests stay hidden and judge, records resume."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from autocoder.bench import report
from autocoder.bench.runner import BenchOptions, judge, read_records, run_suite
from autocoder.bench.suite import PLAIN_ASK, load, load_goal
from autocoder.cli import app
from autocoder.exceptions import AutocoderError
from autocoder.providers import ScriptedProvider
from autocoder.state import Decision

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "benchmarks" / "samples"
REFERENCES = ROOT / "benchmarks" / "references"
EMPTY_MAIN = 'def main():\n    pass\n\n\nif __name__ == "__main__":\n    main()\n'
HIDDEN = "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"


def project(tmp_path: Path, main: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "main.py").write_text(main)
    return tmp_path


@pytest.mark.parametrize(
    "name", sorted(p.name for p in SAMPLES.iterdir() if (p / "goal.toml").is_file())
)
def test_each_sample_passes_on_its_reference_and_fails_on_an_empty_main(name, tmp_path):
    goal = load_goal(SAMPLES / name)
    ok, _, output = judge(
        project(tmp_path / "ref", (REFERENCES / name / "main.py").read_text()), goal
    )
    assert ok, output
    assert not judge(project(tmp_path / "empty", EMPTY_MAIN), goal)[0]


def test_the_samples_suite_has_at_least_twelve_goals_and_the_seeds_midi_goal():
    suite = load("samples")
    assert len(suite.goals) >= 12
    assert any("midi" in g.goal and "500 notes" in g.goal for g in suite.goals)


def test_humaneval_reads_all_164_problems_and_its_checks_judge(tmp_path):
    from autocoder.bench.humaneval import problems

    suite = load("humaneval")
    assert len(suite.goals) == 164
    for p, goal in list(zip(problems(), suite.goals))[:6]:
        assert p["entry_point"] in goal.goal
        solved = p["prompt"] + p["canonical_solution"] + "\n\n" + EMPTY_MAIN
        assert judge(project(tmp_path / goal.name, solved), goal)[0], goal.name
        stub = p["prompt"] + "    return None\n\n\n" + EMPTY_MAIN
        assert not judge(project(tmp_path / (goal.name + "-stub"), stub), goal)[0]


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


class Coder:
    """Writes `add` (right or wrong by goal), then finishes; checks at every call that no
    acceptance file is anywhere the agent can see."""

    name, tool_mode, identity = "coder", "scripted", {"kind": "scripted"}

    def __init__(self, out: Path) -> None:
        self.out, self.calls = out, 0

    def complete(self, messages, actions, settings):
        self.calls += 1
        leaked = [p for p in (self.out / "projects").rglob("test_hidden*.py")]
        assert not leaked and "test_hidden" not in json.dumps(messages), leaked
        names = [a.name for a in actions]
        op = "-" if "wrong" in messages[-1]["content"] else "+"
        main = f"import os\n\n\ndef add(a, b):\n    return a {op} b\n\n\ndef main():\n    print(sorted(os.listdir('.')))\n\n\nif __name__ == \"__main__\":\n    main()\n"
        if not actions:  # the plain ask of a fresh start: code in a fenced block
            return Decision(raw=f"```python\n{main}```")
        if "create_project" in names:
            test = "from main import add\n\n\ndef test_add():\n    assert add(1, 1) in (0, 2)\n"
            return Decision(action="create_project", args={"main": main, "test": test})
        return Decision(action="finish", args={"reason": "done"})


def suite_folder(tmp_path: Path) -> Path:
    root = tmp_path / "suite"
    for name, text in (
        ("right", "Write add(a, b) returning the sum."),
        ("wrong", "Write add(a, b), the wrong way."),
    ):
        (root / name).mkdir(parents=True)
        (root / name / "goal.toml").write_text(f'goal = "{text}"\nmax_steps = 4\n')
        (root / name / "test_hidden.py").write_text(HIDDEN)
    return root


def test_records_judge_with_hidden_tests_and_resume_skips_what_is_recorded(tmp_path):
    out = tmp_path / "out"
    suite = load(str(suite_folder(tmp_path)))
    coder = Coder(out)
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
    calls = coder.calls
    with pytest.raises(AutocoderError, match="recorded with samples=1, not 2"):
        run_suite(suite, BenchOptions(samples=2), out, resume=True, provider=coder)
    assert len(run_suite(suite, BenchOptions(samples=1), out, resume=True, provider=coder)) == 2
    assert coder.calls == calls  # nothing ran again
    lines = (out / "records.jsonl").read_text().splitlines()
    (out / "records.jsonl").write_text("\n".join(x for x in lines if '"wrong"' not in x) + "\n")
    assert len(run_suite(suite, BenchOptions(samples=1), out, resume=True, provider=coder)) == 2
    assert coder.calls > calls and len(read_records(out)) == 2

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
            provider=Coder(tmp_path / name),
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
        suite, BenchOptions(samples=1), tmp_path / "agent", provider=Coder(tmp_path / "agent")
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
