"""Nothing a project holds forges a verdict or an observation, misleads undo, or outlives
autocoder."""

from __future__ import annotations

import importlib.util
import marshal
import os
import signal
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path

import pytest

from autocoder import sandbox
from autocoder.bench.goal import Goal
from autocoder.bench.worker import judge
from autocoder.exceptions import AutocoderError
from autocoder.goal import examples
from autocoder.project import packages
from autocoder.project.observe import observe
from autocoder.project.workspace import Workspace
from autocoder.sandbox import limits
from autocoder.state import passed

BACKENDS = [b for b in ("bwrap", "unshare") if sandbox.available(b)]


@pytest.fixture(params=BACKENDS or ["none"])
def policy(request):
    """Every sandboxed run of a test here on each backend present (bubblewrap, unshare)."""
    if request.param == "none":
        pytest.skip("no sandbox backend here: hostile code is never run unconfined")
    return sandbox.Sandbox(backend=request.param)


WRONG = (
    "def add(a, b):\n    return a - b\n\n\ndef main():\n    print(add(2, 3))\n\n\n"
    "if __name__ == '__main__':\n    main()\n"
)
RIGHT = WRONG.replace("a - b", "a + b")
TEST = "from main import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
GOAL = Goal("add", "add(a, b) returns a + b", {"test_add.py": TEST.encode()})
FORGE_PASS = "print('1 passed in 0.01s')\nimport os\nos._exit(0)\n"

# Files a hostile project plants beside a wrong main.py, each meant to turn the verdict green.
PLANTED = {
    "pytest_module": {"pytest.py": FORGE_PASS},
    "pytest_package": {"_pytest/__init__.py": FORGE_PASS, "pluggy.py": FORGE_PASS},
    "conftest_hook": {
        "conftest.py": (
            "import pytest\n\n@pytest.hookimpl(hookwrapper=True)\n"
            "def pytest_runtest_makereport(item, call):\n"
            "    outcome = yield\n    report = outcome.get_result()\n"
            "    report.outcome = 'passed'\n"
        )
    },
    "conftest_exit": {"conftest.py": FORGE_PASS},
    "nested_conftest": {"sub/conftest.py": FORGE_PASS, "sub/__init__.py": ""},
    "pytest_ini_collect_only": {"pytest.ini": "[pytest]\naddopts = --co -q\n"},
    "tox_ini": {"tox.ini": "[pytest]\naddopts = --co\n"},
    "setup_cfg": {"setup.cfg": "[tool:pytest]\naddopts = --co\n"},
    "pyproject": {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = '--co'\n"},
    "sitecustomize": {"sitecustomize.py": FORGE_PASS, "usercustomize.py": FORGE_PASS},
    "stdlib_shadow": {
        "json.py": FORGE_PASS,
        "ast.py": FORGE_PASS,
        "math.py": FORGE_PASS,
        "glob.py": FORGE_PASS,
    },
    "package_root": {"__init__.py": "import os\nos._exit(0)\n"},
    "venv_shadow": {
        ".venv/lib/python3.11/site-packages/pytest.py": FORGE_PASS,
        ".venv/lib/python3.11/site-packages/evil.pth": "import os; os._exit(0)\n",
    },
    "main_exits_zero": {"main.py": "import os\nprint('1 passed')\nos._exit(0)\n" + WRONG},
    "main_exits_at_exit": {"main.py": "import sys\nsys.exit(0)\n" + WRONG},
    "main_prints_ok": {"main.py": "print('ok   add(2, 3) == 5')\n" + WRONG},
    "main_writes_the_report": {
        "main.py": (
            "import json, os\nfor results in ([True], []):\n"
            "    report = {'exit': 0, 'passed': 1, 'failed': 0, 'results': [True], 'token': ''}\n"
            "    path = os.path.join(os.environ['HOME'], 'report.json')\n"
            "    open(path, 'w').write(json.dumps(report))\n"
            "os._exit(0)\n" + WRONG
        )
    },
    "main_plants_a_fifo_report": {
        "main.py": "import os\nos.mkfifo(os.path.join(os.environ['HOME'], 'report.json'))\n" + WRONG
    },
}


def _project(root: Path, files: dict[str, str], main: str = WRONG) -> Path:
    root.mkdir(parents=True)
    (root / "main.py").write_text(main)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_the_judge_passes_a_right_project_and_fails_a_wrong_one(tmp_path, policy):
    assert judge(_project(tmp_path / "right", {}, RIGHT), GOAL, policy=policy)[0]
    assert not judge(_project(tmp_path / "wrong", {}), GOAL, policy=policy)[0]


@pytest.mark.parametrize("attack", sorted(PLANTED))
def test_nothing_planted_in_the_project_forges_the_bench_verdict(tmp_path, attack, policy):
    passed, _, output = judge(_project(tmp_path / "p", PLANTED[attack]), GOAL, policy=policy)
    assert not passed, output


@pytest.mark.parametrize("attack", sorted(PLANTED))
def test_nothing_planted_forges_the_agents_own_checks(tmp_path, attack, policy):
    files = {"main_test.py": TEST, **PLANTED[attack]}
    project = _project(tmp_path / "p", files)
    obs = observe(Workspace(project), examples.extract("add(2, 3) == 5"), policy=policy)
    assert obs.tests is not None and not obs.tests.ok, obs.tests.output
    assert passed(obs.examples) == 0 and not obs.examples.ok
    assert not obs.green


def test_planted_bytecode_is_never_loaded(tmp_path, policy):
    """A pyc of a right add(), stamped with the wrong main.py's mtime and size, in __pycache__."""
    project = _project(tmp_path / "p", {"main_test.py": TEST})
    st = (project / "main.py").stat()
    header = importlib.util.MAGIC_NUMBER + (0).to_bytes(4, "little")
    header += int(st.st_mtime).to_bytes(4, "little") + (st.st_size & 0xFFFFFFFF).to_bytes(
        4, "little"
    )
    tag = sys.implementation.cache_tag
    (project / "__pycache__").mkdir()
    (project / "__pycache__" / f"main.{tag}.pyc").write_bytes(
        header + marshal.dumps(compile(RIGHT, "main.py", "exec"))
    )
    imported = sandbox.python(["-c", "import main; print(main.add(2, 3))"], project, policy=policy)
    assert imported.output.strip() == "5"  # it works...
    assert not observe(Workspace(project), policy=policy).tests.ok  # ...but not for our checks


def test_no_program_writes_bytecode_beside_the_checks_own_modules(tmp_path, policy):
    """_tool.py imports pytest with its installation's bytecode before the project is on sys.path:
    that holds only while a program cannot write there (a stamped pyc of pytest's would run in the
    check's process, as the one above would for main.py)."""
    project = _project(tmp_path / "p", {"main_test.py": TEST})
    code = (
        "import os, _pytest.python as m\n"
        "for d in (os.path.dirname(m.__file__), os.path.dirname(os.__file__)):\n"
        "    try:\n"
        "        os.makedirs(d + '/__pycache__', exist_ok=True)\n"
        "        open(d + '/__pycache__/planted.cpython-311.pyc', 'ab').close()\n"
        "        print('wrote', d)\n"
        "    except OSError as exc:\n"
        "        print('refused', type(exc).__name__)\n"
    )
    result = sandbox.python(["-c", code], project, policy=policy)
    assert result.output.split().count("refused") == 2, result.output


def test_a_fifo_or_unreadable_file_in_the_project_is_not_read(tmp_path, policy):
    project = _project(tmp_path / "p", {"main_test.py": TEST})
    os.mkfifo(project / "other_test.py")  # reading it would block for ever
    ws = Workspace(project)
    assert "other_test.py" not in ws.files()
    assert not observe(ws, policy=policy).tests.ok


def test_no_setuid_file_outlives_a_run(tmp_path, policy):
    project = _project(tmp_path / "p", {})
    code = (
        "import os, shutil, sys\nshutil.copy(sys.executable, 'sh')\nos.chmod('sh', 0o6755)\n"
        "os.mkdir('d')\nos.chmod('d', 0o2775)"
    )
    result = sandbox.python(["-c", code], project, policy=policy)
    assert result.ok, result.output
    assert (
        not (project / "sh").stat().st_mode & 0o6000
        and (project / "sh").stat().st_mode & 0o755 == 0o755
    )
    assert not (project / "d").stat().st_mode & 0o6000


def test_a_file_name_is_never_read_as_an_option(tmp_path, policy):
    project = _project(
        tmp_path / "p",
        {
            "main_test.py": TEST,
            "--co_test.py": "def test_x():\n    assert True\n",
            "-p_test.py": "def test_y():\n    assert True\n",
        },
    )
    obs = observe(Workspace(project), policy=policy)
    assert not obs.tests.ok and "assert -1 == 5" in obs.tests.output


# ---- undo --------------------------------------------------------------------------------------
def _snapshot_with(ws: Workspace, names: dict[str, bytes]) -> Path:
    ws.write("main.py", "x = 1\n", fmt=False)
    ws.snapshot()
    ws.write("main.py", "x = 2\n", fmt=False)
    snap = ws.snapshot_dir / "0002.zip"
    with zipfile.ZipFile(snap, "w") as zf:
        for name, data in names.items():
            zf.writestr(name, data)
    return snap


@pytest.mark.parametrize(
    "member",
    [
        "../escaped.txt",
        "/tmp/autocoder-zip-slip.txt",
        "a/../../escaped.txt",
        ".autocoder/snapshots/0001.zip",
        "sub/../../escaped.txt",
        ".",
        ".git/config",
    ],
)
def test_undo_refuses_a_snapshot_that_names_a_path_outside(tmp_path, member):
    ws = Workspace(tmp_path / "p")
    _snapshot_with(ws, {"main.py": b"x = 3\n", member: b"pwned"})
    with pytest.raises(AutocoderError, match=r"0002\.zip is refused, nothing restored"):
        ws.undo()
    assert ws.read("main.py") == "x = 2\n" and not (tmp_path / "escaped.txt").exists()
    assert not Path("/tmp/autocoder-zip-slip.txt").exists()


def test_undo_does_not_write_through_a_folder_replaced_by_a_link(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = Workspace(tmp_path / "p")
    ws.write("pkg/mod.py", "a = 1\n", fmt=False)
    ws.snapshot()
    ws.write("pkg/mod.py", "a = 2\n", fmt=False)
    ws.snapshot()
    (ws.root / "pkg" / "mod.py").unlink()
    (ws.root / "pkg").rmdir()
    (ws.root / "pkg").symlink_to(outside)  # what the program did
    with pytest.raises(AutocoderError, match="refused"):
        ws.undo()
    assert list(outside.iterdir()) == []


@pytest.mark.parametrize("bad", [b"not a zip at all", b"PK\x03\x04garbage", b""])
def test_a_damaged_snapshot_is_one_clear_error(tmp_path, bad):
    ws = Workspace(tmp_path / "p")
    _snapshot_with(ws, {"main.py": b"x = 3\n"}).write_bytes(bad)
    with pytest.raises(AutocoderError, match=r"0002\.zip is damaged"):
        ws.undo()
    assert ws.read("main.py") == "x = 2\n"


def test_stray_names_in_the_snapshots_folder_are_not_snapshots(tmp_path):
    ws = Workspace(tmp_path / "p")
    ws.write("main.py", "x = 1\n", fmt=False)
    ws.snapshot()
    for name in ("notes.zip", "abc.zip", "0003.zip.tmp", "-1.zip"):
        (ws.snapshot_dir / name).write_bytes(b"junk")
    (ws.snapshot_dir / "0009.zip").symlink_to(tmp_path / "elsewhere.zip")
    ws.write("main.py", "x = 2\n", fmt=False)
    assert [p.name for p in ws.snapshots()] == ["0001.zip"]
    assert ws.snapshot().name == "0002.zip"
    ws.undo()
    assert ws.read("main.py") == "x = 1\n"


@pytest.mark.parametrize("part", [".autocoder", ".autocoder/snapshots", ".autocoder/runs"])
def test_autocoders_folder_is_never_followed_through_a_link(tmp_path, part):
    outside = tmp_path / "outside"
    outside.mkdir()
    ws = Workspace(tmp_path / "p")
    ws.write("main.py", "x = 1\n", fmt=False)
    (ws.root / part).parent.mkdir(parents=True, exist_ok=True)
    (ws.root / part).symlink_to(outside)
    with pytest.raises(AutocoderError, match="not a plain folder"):
        ws.snapshot() if part != ".autocoder/runs" else ws.private_dir("runs")
    assert list(outside.iterdir()) == []


def test_undo_never_deletes_through_a_linked_snapshots_folder(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "0001.zip").write_bytes(b"the user's file")
    ws = Workspace(tmp_path / "p")
    ws.write("main.py", "x = 1\n", fmt=False)
    ws.state_dir.mkdir()
    ws.snapshot_dir.symlink_to(outside)
    with pytest.raises(FileNotFoundError):
        ws.undo()
    assert (outside / "0001.zip").read_bytes() == b"the user's file"


# ---- installs ------------------------------------------------------------------------------------
def test_an_install_runs_nothing_of_the_project(tmp_path, monkeypatch, policy):
    marker = tmp_path / "ran"
    evil = f"open({str(marker)!r}, 'w').write('ran')\n"
    project = _project(
        tmp_path / "p",
        {"venv.py": evil, "pip.py": evil, "ensurepip.py": evil, "setuptools.py": evil},
    )
    monkeypatch.chdir(project)  # where `python -m venv` would have found venv.py
    result = packages.install(
        project,
        ["no_such_module_xyz"],
        ["--no-index", "--find-links", str(tmp_path)],
        policy=policy,
    )
    assert not result.ok and "No matching distribution" in result.output
    assert not marker.exists()


def test_an_install_refuses_a_linked_venv(tmp_path, policy):
    outside = tmp_path / "outside"
    outside.mkdir()
    project = _project(tmp_path / "p", {})
    (project / ".venv").symlink_to(outside)
    result = packages.install(project, ["anything"], policy=policy)
    assert not result.ok and "not a plain folder" in result.output
    assert list(outside.iterdir()) == []


# ---- a killed autocoder ------------------------------------------------------------------------
def _alive(marker: str) -> bool:
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and marker.encode() in (proc / "cmdline").read_bytes():
                return True
        except OSError:
            pass
    return False


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_autocoder_leaves_nothing_running_and_the_next_start_sweeps(tmp_path, sig, policy):
    marker = f"sleeper-{uuid.uuid4().hex}"
    sleeper = "import pathlib, time\npathlib.Path('started').write_text('')\ntime.sleep(60)\n"
    project = _project(tmp_path / "p", {}, sleeper)
    code = (  # the marker in two parts: autocoder's own command line must not hold it whole
        f"import sys; sys.path.insert(0, {str(Path(__file__).parents[2])!r})\n"
        "from pathlib import Path\nfrom autocoder import sandbox\n"
        f"policy = sandbox.Sandbox(backend={policy.backend!r})\n"
        f"args = ['main.py', {marker[:9]!r} + {marker[9:]!r}]\n"
        f"print(sandbox.python(args, Path({str(project)!r}), timeout=50, policy=policy))\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 20
    # the program itself runs (not just bwrap or the jail, whose command lines hold it too)
    while not (project / "started").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (project / "started").exists() and _alive(marker), "the program never started"
    homes = set(Path("/tmp").glob(f"autocoder-home-{parent.pid}-*"))
    assert homes
    parent.send_signal(sig)
    parent.wait(timeout=20)
    deadline = time.monotonic() + 10
    while _alive(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(marker), "the program outlived autocoder"
    sandbox.sweep()
    assert not any(h.exists() for h in homes)
    groups = [
        g for root in limits.CGROUP_ROOTS for g in Path(root).glob(f"autocoder-{parent.pid}-*")
    ]
    assert groups == []


def test_sweep_leaves_a_live_process_scratch_alone(tmp_path):
    with sandbox.scratch("trial") as mine:
        sandbox.sweep()
        assert mine.is_dir()
    assert not mine.exists()
    assert os.getpid()  # (the folder is named for this live process)
