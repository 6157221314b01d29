"""The command line and the Python API, as a user drives them."""

import json

import pytest
from typer.testing import CliRunner

from autocoder import autocoder
from autocoder.cli import app
from autocoder.exceptions import AutocoderError
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider

from ..conftest import CREATE, FINISH, GOOD_MAIN

GOAL = "Create main.py that prints the first 10 Fibonacci numbers"
runner = CliRunner()


@pytest.fixture
def recorded(tmp_path):
    """A trajectory of a finished run, to replay without a model."""
    src = tmp_path / "recorded"
    src.mkdir()
    return Agent(ScriptedProvider([CREATE, FINISH]), Workspace(src), GOAL).run().trajectory


def test_run_with_replay_prints_one_json_line_and_exits_0(tmp_path, recorded):
    out = tmp_path / "fib"
    res = runner.invoke(
        app, ["run", GOAL, "--project-dir", str(out), "--model", f"replay:{recorded}", "--json"]
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert data["status"] == "done" and data["steps"] == 2 and data["model_calls"] == 2
    assert set(data) >= {
        "prompt_tokens",
        "completion_tokens",
        "wall_s",
        "model_s",
        "model",
        "project_dir",
        "trajectory",
    }
    assert (out / "main.py").read_text() == GOOD_MAIN


def test_run_not_done_exits_1(tmp_path, recorded):
    res = runner.invoke(
        app,
        [
            "run",
            GOAL,
            "-d",
            str(tmp_path / "p"),
            "-m",
            f"replay:{recorded}",
            "--max-steps",
            "1",
            "--json",
        ],
    )
    assert res.exit_code == 1
    assert json.loads(res.stdout.strip().splitlines()[-1])["status"] == "max_steps"
    told = runner.invoke(
        app,
        ["run", GOAL, "-d", str(tmp_path / "q"), "-m", f"replay:{recorded}", "--max-steps", "1"],
    )
    assert (
        told.exit_code == 1
        and "kept: the best version found (main.py runs, its tests pass)" in told.output
    )
    # the larger-model hint is for the embedded model's runs
    assert "embedded model" not in told.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["   "], "goal is empty"),
        ([GOAL, "--model", "no-such-model"], "unknown model"),
        ([GOAL, "--model", "missing.gguf"], "GGUF file not found"),
        ([GOAL, "--model", "replay:missing.jsonl"], "replay file not found"),
        ([GOAL, "--log-level", "loud"], "bad log_level"),
    ],
)
def test_bad_input_is_one_line_exit_2_nothing_written(tmp_path, args, message):
    target = tmp_path / "never"
    res = runner.invoke(app, ["run", *args, "--project-dir", str(target)])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1
    assert not target.exists()


def test_project_dir_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "afile"
    f.write_text("mine")
    res = runner.invoke(app, ["run", GOAL, "--project-dir", str(f)])
    assert res.exit_code == 2 and "is a file" in res.output and f.read_text() == "mine"


def test_undo_command(tmp_path, recorded):
    out = tmp_path / "fib"
    runner.invoke(
        app, ["run", GOAL, "-d", str(out), "-m", f"replay:{recorded}", "--log-level", "quiet"]
    )
    res = runner.invoke(app, ["undo", "--project-dir", str(out)])
    assert res.exit_code == 0, res.output
    assert not (out / "main.py").exists()
    res = runner.invoke(app, ["undo", "--project-dir", str(out)])
    assert res.exit_code == 2 and "nothing to undo" in res.output


def test_start_menu_saves_runs_and_forgets_projects(tmp_path, recorded, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.chdir(tmp_path)
    keys = (
        "\n".join(
            [
                "options",
                f"replay:{recorded}",
                "5",
                "n",
                "quiet",
                "n",
                "new",
                GOAL,
                "fib",
                "fibdir",
                "y",
                "quit",
            ]
        )
        + "\n"
    )
    res = runner.invoke(app, ["start"], input=keys)
    assert res.exit_code == 0, res.output
    assert "done" in res.output
    assert (tmp_path / "fibdir" / "main.py").read_text() == GOOD_MAIN
    store = json.loads((tmp_path / "cfg" / "autocoder" / "projects.json").read_text())
    assert store["projects"] == [{"name": "fib", "goal": GOAL, "project_dir": "fibdir"}]
    res = runner.invoke(app, ["start"], input="delete\n1\ny\nquit\n")
    assert res.exit_code == 0, res.output
    assert (
        json.loads((tmp_path / "cfg" / "autocoder" / "projects.json").read_text())["projects"] == []
    )
    assert (tmp_path / "fibdir" / "main.py").exists()  # forgetting a project keeps its folder


def test_python_api_takes_the_seed_dict(tmp_path, recorded):
    result = autocoder(
        {
            "project_name": "fib",
            "goal": GOAL,
            "project_dir": str(tmp_path / "fib"),
            "log_level": "quiet",
            "step": False,
            "model": f"replay:{recorded}",
            "api_key": "sk-test-123",
        }
    )
    assert result.status == "done"
    with open(result.trajectory) as fh:
        assert "sk-test-123" not in fh.read()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"goal": "x", "colour": "red"}, "unknown option 'colour'"),
        ({"project_name": "x"}, "missing 'goal'"),
    ],
)
def test_python_api_rejects_bad_dicts(data, message):
    with pytest.raises(AutocoderError, match=message):
        autocoder(data)


def test_replay_of_a_sampled_run_gives_the_same_project_and_counts(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    failing = CREATE.replace("[0, 1, 1, 2, 3]", "[9]")
    first = Agent(
        ScriptedProvider([failing, CREATE, FINISH]), Workspace(src), GOAL, AgentConfig(samples=2)
    ).run()
    out = tmp_path / "out"
    res = runner.invoke(
        app, ["run", GOAL, "-d", str(out), "-m", f"replay:{first.trajectory}", "--json"]
    )
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert (
        (data["status"], data["steps"], data["model_calls"])
        == ("done", first.steps, first.model_calls)
        == ("done", 2, 3)
    )
    assert (out / "main_test.py").read_text() == (src / "main_test.py").read_text()


def _home(tmp_path, monkeypatch):
    """A home folder of the test's own, as $HOME."""
    home = tmp_path / "home" / "me"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.parametrize(
    "folder, why",
    [
        ("", "is empty"),
        ("/", "root folder"),
        ("~", "home folder itself"),
        ("HOME", "home folder itself"),
        ("HOME/..", "holds your home folder"),
        ("/usr/local/p", "system folder"),
        ("/etc", "system folder"),
        ("/opt", "top-level"),
    ],
)
def test_run_refuses_a_project_folder_that_is_no_project_of_its_own(
    tmp_path, monkeypatch, folder, why
):
    # issue 24: `-d ''` was the current folder (from home, the program wrote ~/.bashrc)
    home = _home(tmp_path, monkeypatch)
    (home / ".bashrc").write_text("mine")
    monkeypatch.chdir(home)
    folder = folder.replace("HOME", str(home))
    res = runner.invoke(app, ["run", GOAL, "-d", folder, "-m", "replay:none.jsonl"])
    assert res.exit_code == 2 and "Traceback" not in res.output, res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0], res.stderr
    assert sorted(p.name for p in home.iterdir()) == [".bashrc"]
    assert (home / ".bashrc").read_text() == "mine"
    with pytest.raises(AutocoderError, match=why):
        autocoder({"goal": GOAL, "project_dir": folder, "model": "replay:none.jsonl"})


def test_a_project_folder_inside_home_or_tmp_is_fine(tmp_path, monkeypatch, recorded):
    home = _home(tmp_path, monkeypatch)
    for folder in (home / "p", tmp_path / "q"):
        res = runner.invoke(app, ["run", GOAL, "-d", str(folder), "-m", f"replay:{recorded}"])
        assert res.exit_code == 0, res.output
        assert (folder / "main.py").is_file()


def test_the_cache_folder_is_made_private_and_a_given_one_keeps_its_mode(tmp_path, monkeypatch):
    import os
    import stat

    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(tmp_path / "new" / "cache"))
    assert runner.invoke(app, ["cache", "stats"]).exit_code == 0
    assert stat.S_IMODE(os.stat(tmp_path / "new" / "cache").st_mode) == 0o700
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    os.chmod(shared, 0o755)
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", str(shared))
    assert runner.invoke(app, ["cache", "stats"]).exit_code == 0
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o755  # never chmodded


@pytest.mark.parametrize("folder", ["/", "/etc", "/usr/lib", "HOME", "HOME/.."])
def test_a_cache_folder_that_is_a_system_or_home_folder_is_refused(tmp_path, monkeypatch, folder):
    import os

    home = _home(tmp_path, monkeypatch)
    before = os.stat(folder.replace("HOME", str(home))).st_mode
    monkeypatch.setenv("AUTOCODER_CACHE_DIR", folder.replace("HOME", str(home)))
    for command in (["cache", "stats"], ["cache", "clear"]):
        res = runner.invoke(app, command)
        assert res.exit_code == 2 and "response cache folder" in res.stderr, res.output
        assert len(res.stderr.strip().splitlines()) == 1
    assert os.stat(folder.replace("HOME", str(home))).st_mode == before
    assert list(home.iterdir()) == []
