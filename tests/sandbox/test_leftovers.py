"""What a program leaves in the project or its scratch folders for later: repositories that run
code on the user's next `git status`, setuid files hidden deep down, links that steer `undo`.
Every attack by a program runs in the real sandbox, on each backend present."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

from autocoder import sandbox
from autocoder.cli import app
from autocoder.exceptions import AutocoderError
from autocoder.project.workspace import MAX_SNAPSHOT_FILE, PathRefused, Workspace
from autocoder.sandbox import limits, tree

BACKENDS = [b for b in ("bwrap", "unshare") if sandbox.available(b)]
DEEP = 1100  # nested folders: past Python's recursion limit
LONG = 25  # folders of 200 characters: a path past PATH_MAX (4096)
FSMONITOR = '[core]\n\tfsmonitor = "touch ../PWNED; touch PWNED; false"\n'


@pytest.fixture(autouse=True)
def _removed_after(tmp_path):
    """The deep trees made here go with the test: pytest's own clean-up of old temporary folders
    recurses (shutil.rmtree), and 1,100 levels left there would stop a later session's run."""
    yield
    tree.rmtree(tmp_path)


@pytest.fixture(params=BACKENDS or ["none"])
def policy(request):
    """Every program here runs on each backend present (bubblewrap, unshare)."""
    if request.param == "none":
        pytest.skip("no sandbox backend here: hostile code is never run unconfined")
    return sandbox.Sandbox(backend=request.param)


def _run(project: Path, code: str, policy: sandbox.Sandbox) -> None:
    result = sandbox.python(["-c", textwrap.dedent(code)], project, timeout=60, policy=policy)
    assert result.ok, result.output


def _down(top: Path, names: list[str]) -> int:
    """A descriptor on top/names..., opened one folder at a time (past PATH_MAX)."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for name in names:
        child = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = child
    return fd


def _git_status_runs_nothing(project: Path) -> None:
    if shutil.which("git") is None:
        return
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(project.parent)}
    for folder in [project, *(p for p in project.rglob("*") if p.is_dir())]:
        for command in ("status", "log"):
            git = ["git", command]
            subprocess.run(git, cwd=folder, env=env, capture_output=True, timeout=30, check=False)
    assert not list(project.parent.rglob("PWNED"))


# ---- repositories the program makes ------------------------------------------------------------
MAKE_REPOSITORIES = f"""
import os
def put(path, text):
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    open(path, 'w').write(text)
for top in ('.git', 'sub/.git', 'a/b/.git'):
    put(top + '/HEAD', 'ref: refs/heads/main\\n')
    put(top + '/config', {FSMONITOR!r})
    put(top + '/hooks/post-checkout', '#!/bin/sh\\ntouch PWNED\\n')
    os.makedirs(top + '/objects', exist_ok=True)
    os.makedirs(top + '/refs', exist_ok=True)
put('.hg/hgrc', '[hooks]\\npre-status = touch PWNED\\n')
put('c/.svn/wc.db', 'x')
put('c/.bzr/branch-format', 'x')
put('wt/.git', 'gitdir: ../elsewhere\\n')
put('elsewhere/HEAD', 'ref: refs/heads/main\\n')
put('bare/HEAD', 'ref: refs/heads/main\\n')
put('bare/config', {FSMONITOR!r})
for name in ('objects', 'refs', 'bare/objects', 'bare/refs'):
    os.makedirs(name, exist_ok=True)
put('HEAD', 'ref: refs/heads/main\\n')
put('config', {FSMONITOR!r})
print('planted')
"""


def test_no_repository_the_program_made_is_left(tmp_path, policy):
    project = tmp_path / "p"
    project.mkdir()
    (project / "main.py").write_text("print(1)\n")
    _run(project, MAKE_REPOSITORIES, policy)
    for made in (".git", "sub/.git", "a/b/.git", ".hg", "c/.svn", "c/.bzr", "wt/.git"):
        assert not os.path.lexists(project / made), made
    for folder in ("", "bare/"):  # what made a bare repository of a folder is gone
        assert not os.path.lexists(project / folder / "HEAD"), folder
    assert (project / "main.py").read_text() == "print(1)\n"
    _git_status_runs_nothing(project)


def test_the_users_repositories_stay_as_they_were(tmp_path, policy):
    project = tmp_path / "p"
    (project / "sub" / ".git" / "objects").mkdir(parents=True)
    (project / "sub" / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[core]\n\tbare = false\n")
    (project / "wt").mkdir()
    (project / "wt" / ".git").write_text("gitdir: /srv/repo/.git/worktrees/wt\n")
    (project / "main.py").write_text("print(1)\n")
    code = "open('wt/.git', 'w').write('gitdir: ../evil\\n')\nprint('changed')\n"
    _run(project, code, policy)
    assert (project / ".git" / "config").read_text() == "[core]\n\tbare = false\n"
    assert (project / "sub" / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert (project / "wt" / ".git").read_text() == "gitdir: /srv/repo/.git/worktrees/wt\n"


# ---- setuid files, deep down -------------------------------------------------------------------
HIDE_SETUID = f"""
import os, shutil, sys
def plant(names):
    top = os.open('.', os.O_RDONLY)
    for name in names:
        os.mkdir(name)
        os.chdir(name)
    shutil.copy(sys.executable, 'sh')
    os.chmod('sh', 0o6755)
    os.fchdir(top)
plant(['d'] * {DEEP})
plant(['x' * 200] * {LONG})
os.chdir(os.environ['HOME'])  # and the same in the scratch home, whose clean-up must not stop
plant(['d'] * {DEEP})
plant(['x' * 200] * {LONG})
print('planted')
"""


def test_no_setuid_file_survives_deep_down_and_scratch_goes(tmp_path, policy):
    project = tmp_path / "p"
    project.mkdir()
    (project / "main.py").write_text("print(1)\n")
    _run(project, HIDE_SETUID, policy)
    for names in (["d"] * DEEP, ["x" * 200] * LONG):
        fd = _down(project, names)
        try:
            mode = os.stat("sh", dir_fd=fd, follow_symlinks=False).st_mode
        finally:
            os.close(fd)
        assert not mode & (stat.S_ISUID | stat.S_ISGID), oct(mode)
    assert not list(Path(tempfile.gettempdir()).glob(f"autocoder-home-{os.getpid()}-*"))


def test_the_users_own_setuid_bits_stay(tmp_path, policy):
    project = tmp_path / "p"
    (project / "shared").mkdir(parents=True)
    (project / "shared").chmod(0o2775)
    (project / "tool").write_bytes(b"#!/bin/sh\n")
    (project / "tool").chmod(0o4755)
    (project / "other").write_bytes(b"#!/bin/sh\n")
    (project / "other").chmod(0o755)
    _run(project, "import os\nos.chmod('other', 0o4755)\nopen('shared/f', 'w')\n", policy)
    assert stat.S_IMODE((project / "tool").stat().st_mode) == 0o4755
    assert stat.S_IMODE((project / "shared").stat().st_mode) == 0o2775
    assert stat.S_IMODE((project / "other").stat().st_mode) == 0o755  # the program's doing


def test_sweep_removes_what_a_killed_run_left_however_deep_and_follows_no_link(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    left = Path(tempfile.mkdtemp(prefix=f"autocoder-home-{gone.pid}-"))
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "precious").write_text("mine")
    for names in (["d"] * DEEP, ["x" * 200] * LONG):
        fd = os.open(left, os.O_RDONLY)
        for name in names:
            os.mkdir(name, dir_fd=fd)
            child = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        os.symlink(keep, "out", dir_fd=fd)
        os.close(fd)
    (left / "link").symlink_to(keep)
    (left / "locked").mkdir()
    (left / "locked").chmod(0)
    limits.sweep()
    assert not left.exists()
    assert (keep / "precious").read_text() == "mine"


# ---- undo ----------------------------------------------------------------------------------------
def _two_snapshots(project: Path, rel: str) -> Workspace:
    ws = Workspace(project)
    ws.write("main.py", "print(1)\n", fmt=False)
    ws.write(rel, "first\n", fmt=False)
    ws.snapshot()
    ws.write(rel, "second\n", fmt=False)
    ws.snapshot()
    return ws


@pytest.mark.parametrize(("where", "rel"), [(".git", "pkg/config"), (".autocoder/runs", "pkg/x")])
def test_undo_never_writes_through_a_link_the_program_made(tmp_path, policy, where, rel):
    project = tmp_path / "p"
    project.mkdir()
    (project / ".git").mkdir()
    (project / ".git" / "config").write_text("[core]\n")
    ws = _two_snapshots(project, rel)
    (project / ".autocoder" / "runs").mkdir()
    before = {p: p.read_bytes() for p in (project / where).rglob("*") if p.is_file()}
    code = f"import os, shutil\nshutil.rmtree('pkg')\nos.symlink({where!r}, 'pkg')\n"
    _run(project, code, policy)
    with pytest.raises(AutocoderError, match="pkg is a link"):
        ws.undo()
    after = {p: p.read_bytes() for p in (project / where).rglob("*") if p.is_file()}
    assert after == before


def test_undo_keeps_a_file_it_holds_no_copy_of(tmp_path, policy):
    project = tmp_path / "p"
    project.mkdir()
    big = b"x" * (MAX_SNAPSHOT_FILE + 1)
    (project / "data.bin").write_bytes(big)
    ws = Workspace(project)
    ws.write("main.py", "print(1)\n", fmt=False)
    ws.snapshot()
    ws.write("main.py", "print(2)\n", fmt=False)
    ws.write("new.py", "y = 1\n", fmt=False)
    _run(project, "open('data.bin', 'w').write('gone')\n", policy)
    restored = ws.undo()
    assert (project / "data.bin").read_bytes() == b"gone"  # kept: undo has nothing to put back
    assert any("data.bin" in note for note in restored.notes)
    assert not (project / "new.py").exists()  # what the snapshot shows was not there still goes
    assert ws.read("main.py") == "print(1)\n"


def test_the_model_cannot_write_into_any_repository(tmp_path):
    ws = Workspace(tmp_path)
    for rel in ("sub/.git/config", "a/.hg/hgrc", ".svn/x", "b/.bzr/y"):
        with pytest.raises(PathRefused):
            ws.write(rel, "x\n", fmt=False)
    assert list(tmp_path.iterdir()) == []


# ---- names and depths no walk may choke on -------------------------------------------------------
def test_odd_names_and_deep_folders_neither_break_nor_enter_a_run(tmp_path, policy):
    from autocoder.project.observe import observe

    project = tmp_path / "p"
    project.mkdir()
    ws = Workspace(project)
    ws.write("main.py", "print(1)\n", fmt=False)
    ws.snapshot()
    plant = (
        "import os\nopen(b'\\xff.py', 'w').write('x = 1\\n')\n"
        "os.mkdir(b'\\xfe')\nopen(b'\\xfe/a.py', 'w')\n" + HIDE_SETUID
    )
    _run(project, plant, policy)
    scan = ws.scan()
    assert scan.files == ["main.py"]
    assert any("not UTF-8" in note for note in scan.skipped)
    assert any("deeper than" in note for note in scan.skipped)
    assert ws.fingerprint() and ws.snapshot() is None  # nothing else the project's text
    copy = ws.copy_to(tmp_path / "copy")
    assert copy.files() == ["main.py"]
    assert observe(ws, policy=policy).main.ok
    ws.write("main.py", "print(2)\n", fmt=False)
    restored = ws.undo()
    assert ws.read("main.py") == "print(1)\n"
    assert any("left as they are" in note for note in restored.notes)
    assert os.path.exists(project / os.fsdecode(b"\xff.py"))  # never ours to delete


def test_the_undo_command_says_what_it_kept(tmp_path):
    from typer.testing import CliRunner

    ws = Workspace(tmp_path)
    (tmp_path / "data.bin").write_bytes(b"x" * (MAX_SNAPSHOT_FILE + 1))
    ws.write("main.py", "print(1)\n", fmt=False)
    ws.snapshot()
    ws.write("main.py", "print(2)\n", fmt=False)
    (tmp_path / "data.bin").write_bytes(b"small")
    result = CliRunner().invoke(app, ["undo", "-d", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "kept data.bin" in result.output
    assert (tmp_path / "data.bin").read_bytes() == b"small"


def test_a_nested_repository_of_the_users_stays_read_only(tmp_path, policy):
    project = tmp_path / "project"
    (project / "vendored" / ".git" / "hooks").mkdir(parents=True)
    (project / "vendored" / ".git" / "config").write_text("[core]\n")
    code = f"""
        for path in ("vendored/.git/config", "vendored/.git/hooks/post-checkout"):
            try:
                with open(path, "a") as fh:
                    fh.write({FSMONITOR!r})
            except OSError:
                pass
        """
    _run(project, code, policy)
    assert (project / "vendored" / ".git" / "config").read_text() == "[core]\n"
    assert sorted(os.listdir(project / "vendored" / ".git" / "hooks")) == []
