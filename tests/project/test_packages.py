"""Package installs: only when allowed, into the project's .venv, wheels only, a missing name
reported to the model and not retried. Offline: the index is a folder with a wheel made here."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

from autocoder import sandbox
from autocoder.loop.agent import Agent
from autocoder.loop.config import AgentConfig
from autocoder.project import packages
from autocoder.project.workspace import Workspace
from autocoder.providers import ScriptedProvider

from ..conftest import FINISH, reply

MAIN = """import fakemod


def main():
    print(fakemod.greet())


if __name__ == "__main__":
    main()
"""
TEST = """from main import main


def test_main(capsys):
    main()
    assert capsys.readouterr().out == "hello from a wheel\\n"
"""


def make_wheel(folder):
    """A real, minimal wheel of the distribution fake-dist, which provides the module fakemod."""
    folder.mkdir()
    path = folder / "fake_dist-1.0-py3-none-any.whl"
    files = {
        "fakemod.py": "def greet():\n    return 'hello from a wheel'\n",
        "fake_dist-1.0.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: fake-dist\nVersion: 1.0\n"
        ),
        "fake_dist-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    with zipfile.ZipFile(path, "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)
        record = "".join(f"{name},,\n" for name in files) + "fake_dist-1.0.dist-info/RECORD,,\n"
        wheel.writestr("fake_dist-1.0.dist-info/RECORD", record)
    return folder


def _lines(path):
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines()]


def run(tmp_path, monkeypatch, allow, policy=sandbox.SAFE):
    monkeypatch.setitem(packages.DISTRIBUTIONS, "fakemod", "fake-dist")
    index = ["--no-index", "--find-links", str(make_wheel(tmp_path / "wheels"))]
    script = [reply("create_project", main=MAIN, test=TEST), FINISH]
    project = tmp_path / "project"
    agent = Agent(
        ScriptedProvider(script),
        Workspace(project),
        "greet",
        AgentConfig(max_steps=3, allow_install=allow, index_args=index, policy=policy),
    )
    result = agent.run()
    return result, project, _lines(result.trajectory)


def test_an_allowed_missing_import_is_installed_into_the_project_venv(tmp_path, monkeypatch):
    result, project, lines = run(tmp_path, monkeypatch, allow=True)
    installs = [x for x in lines if x["type"] == "install"]
    assert result.status == "done", result.reason
    assert [(i["modules"], i["distributions"], i["ok"]) for i in installs] == [
        (["fakemod"], ["fake-dist"], True)
    ]
    assert (packages.site_packages(project) / "fakemod.py").is_file()
    # not ours
    assert "fakemod" not in sys.modules and not any("fake_dist" in p for p in map(str, sys.path))


def test_without_permission_nothing_is_installed(tmp_path, monkeypatch):
    result, project, lines = run(tmp_path, monkeypatch, allow=False)
    assert result.status != "done" and not (project / ".venv").exists()
    assert not [x for x in lines if x["type"] == "install"]


def test_a_name_that_does_not_exist_is_told_to_the_model_once(tmp_path, monkeypatch):
    monkeypatch.setitem(packages.DISTRIBUTIONS, "fakemod", "no-such-dist-anywhere")
    index = ["--no-index", "--find-links", str(make_wheel(tmp_path / "wheels"))]
    broken = reply("create_project", main=MAIN, test=TEST)
    script = [broken, reply("write_file", path="main.py", content=MAIN + "\n"), broken]
    agent = Agent(
        ScriptedProvider(script),
        Workspace(tmp_path / "p"),
        "greet",
        AgentConfig(max_steps=3, allow_install=True, index_args=index),
    )
    result = agent.run()
    installs = [x for x in _lines(result.trajectory) if x["type"] == "install"]
    assert len(installs) == 1 and not installs[0]["ok"]
    assert result.status == "max_steps"  # the agent lived on; the model was told
    prompt_texts = [m["content"] for call in agent.provider.calls for m in call]
    assert any("could not install no-such-dist-anywhere" in t for t in prompt_texts)


def test_every_run_of_the_agent_takes_its_policy(tmp_path, monkeypatch):
    real, taken = sandbox.run, []

    def spy(*args, policy, **kwargs):
        taken.append((args[0][2:4], policy))
        return real(*args, policy=policy, **kwargs)

    monkeypatch.setattr(sandbox, "run", spy)
    policy = sandbox.Sandbox(unsafe=True)  # not the default: the best backend, else unconfined
    result, _, _ = run(tmp_path, monkeypatch, allow=True, policy=policy)
    assert result.status == "done", result.reason
    assert ["-m", "pip"] in [args for args, _ in taken]  # the install, and observations
    assert {p for _, p in taken} == {policy}


def test_import_names_map_to_distributions():
    assert (
        packages.distribution("sklearn") == "scikit-learn"
        and packages.distribution("requests") == "requests"
    )
