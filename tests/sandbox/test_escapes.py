"""Every escape attack (escapes.py) on every sandbox backend present, as root and as an
unprivileged user: none gets out, nothing outside the project changes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from autocoder import sandbox

from .. import escapes

DRIVER = Path(escapes.__file__)
NOBODY = 65534


def _run(cmd: list[str], work: Path) -> dict[str, str]:
    env = {"PATH": os.environ["PATH"], "HOME": str(work / "home"), "TMPDIR": "/tmp"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _reachable_by_others(path: str) -> str | None:
    """The outermost folder on the way to `path` that other users cannot enter, if any."""
    here = Path("/")
    for part in Path(path).parts[1:]:
        here = here / part
        if here.is_dir() and not os.stat(here).st_mode & 0o001:
            return str(here)
    return None


def as_unprivileged(argv: list[str], stage_root: Path) -> list[str]:
    """`argv` run as uid/gid 65534. Where the interpreter or this checkout lies under a folder
    other users cannot enter (pyenv in /root, 0700), a private mount namespace of the test's own
    covers that folder with an empty 0755 tmpfs holding just the needed folders again."""
    needed = sorted(
        {os.path.realpath(p) for p in (sys.base_prefix, sys.prefix, DRIVER.parent.parent)}
    )
    closed = {path: _reachable_by_others(path) for path in needed}
    moves = [(path, tempfile.mkdtemp(dir=stage_root)) for path in needed if closed[path]]
    lines = ["set -e"]
    lines += [f"mount --bind '{path}' '{stage}'" for path, stage in moves]  # held before covering
    lines += [
        f"mount -t tmpfs -o mode=755 tmpfs '{c}'" for c in sorted({closed[p] for p, _ in moves})
    ]
    lines += [f"mkdir -p '{path}' && mount --move '{stage}' '{path}'" for path, stage in moves]
    inner = " ".join(f"'{a}'" for a in argv)
    lines.append(f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups {inner}")
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(lines)]


BACKENDS = [b for b in ("bwrap", "unshare") if shutil.which(b)]


def _users() -> list[str]:
    return (
        ["root", "unprivileged"]
        if os.getuid() == 0 and shutil.which("setpriv")
        else [f"uid {os.getuid()}"]
    )


def _visible_base() -> str:
    """Where daemons and services keep their sockets and data (/var/lib, /srv): "outside" and
    the daemon's socket must lie where a blacklist of hidden folders would have left them."""
    for base in ("/var/lib", "/srv", "/opt", str(DRIVER.parent.parent)):
        if os.access(base, os.W_OK):
            return base
    pytest.skip("no writable folder outside the project here")


@pytest.fixture
def work():
    folder = Path(tempfile.mkdtemp(prefix="autocoder-escapes-", dir=_visible_base()))
    escapes.prepare(folder)
    yield folder
    escapes.remove(folder)


@pytest.mark.parametrize("user", _users())
@pytest.mark.parametrize("backend", BACKENDS)
def test_no_attack_gets_out(backend, user, work):
    if not sandbox.available(backend):
        pytest.skip(f"{backend} is installed but cannot confine on this machine")
    cmd = [sys.executable, str(DRIVER), backend, str(work)]
    if user == "unprivileged":
        os.chmod(work, 0o755)
        for path in [work, *work.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)
        cmd = as_unprivileged(cmd, work)
    verdicts = _run(cmd, work)
    if "_backend" in verdicts:
        pytest.skip(f"{verdicts['_backend']} as {user}")
    assert set(verdicts) == {
        *escapes.ATTACKS,
        "outside_unchanged",
        "state_unchanged",
        "git_unchanged",
    }
    broken = {k: v for k, v in verdicts.items() if v != "held"}
    assert not broken, f"{backend} as {user}: {broken}"
