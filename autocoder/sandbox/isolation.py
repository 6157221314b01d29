"""How a sandboxed program is confined: its environment, which backend works here, and the command
line (bubblewrap, or `unshare` with `_jail.py`) that builds its root from visible.py's allow-list
(an empty read-only /tmp, a private /dev with a sized /dev/shm, its own /proc besides). The
program keeps no capability (bwrap --cap-drop ALL; the jail drops every set and sets
no_new_privs), and a seccomp filter (seccomp.py) denies new namespaces, vsock, keyrings and
kernel interfaces. The unshare backend has user, mount, PID, network, IPC and UTS namespaces;
bubblewrap those and a cgroup namespace.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from . import visible
from .limits import scratch

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
NETWORK_ENV = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_CERT",
    "SSL_CERT_FILE",
)
JAIL = Path(__file__).with_name("_jail.py")
SHM_SIZE = 64 * 1024**2  # the private /dev/shm
PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus")
# the descriptions of every key the inherited keyrings hold (as Docker's masked paths)
PROC_BLANKED = ("/proc/keys", "/proc/key-users")
BACKENDS = ("bwrap", "unshare")  # best first


# ---- environment -------------------------------------------------------------------------------
def site_packages(root: Path) -> Path | None:
    """The site-packages of the project's own .venv (project/packages.py installs there), if any."""
    found = sorted(Path(root).glob(".venv/lib/python*/site-packages"))
    return found[0] if found else None


def child_env(home: str, cwd: Path | None = None, network: bool = False) -> dict[str, str]:
    """The program's whole environment: an allow-list of ours (no API key), its scratch HOME."""
    allow = ENV_ALLOW + NETWORK_ENV if network else ENV_ALLOW  # an install run may need the proxy
    env = {k: os.environ[k] for k in allow if k in os.environ}
    site = site_packages(cwd) if cwd is not None else None
    if site is not None:  # packages installed for the project (autocoder.project.packages)
        env["PYTHONPATH"] = str(site)
    env.update(
        HOME=home,
        TMPDIR=home,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        NO_COLOR="1",
        # the project's tests, not autocoder's plugins (2x faster)
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    return env


# ---- which backend works here ------------------------------------------------------------------
def _works(cmd: list[str], cwd: str, fds: tuple[int, ...] = ()) -> bool:
    try:
        run = subprocess.run(
            cmd, cwd=cwd, capture_output=True, timeout=20, check=False, pass_fds=fds
        )
        return run.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=1)
def backend() -> str:
    """bwrap, unshare, or "" when neither can isolate on this machine."""
    return next((kind for kind in BACKENDS if available(kind)), "")


@functools.lru_cache(maxsize=2)
def available(kind: str) -> bool:
    """Whether this backend confines a program here (its tool is installed and allowed to work)."""
    if not shutil.which(kind):
        return False
    # from the folder it confines, as every sandboxed run starts (autocoder's own folder is not
    # among what the program sees)
    with scratch("probe") as tmp, confinement(kind, str(tmp), str(tmp)) as (confine, fds):
        return _works([*confine, "true"], str(tmp), fds)


# ---- the command line ----------------------------------------------------------------------------
@contextlib.contextmanager
def confinement(
    kind: str,
    cwd: str,
    home: str,
    network: bool = False,
    readable: tuple[str, ...] = (),
    kept: tuple[str, ...] = (),
) -> Iterator[tuple[list[str], tuple[int, ...]]]:
    """The command line that runs what follows it confined by `kind` (bwrap or unshare), and the
    descriptors it needs passed (bwrap reads its seccomp filter from one), open while in use."""
    found = {
        **visible.rules(cwd, home, readable, network, kept),
        "shm_size": SHM_SIZE,
        "proc_blanked": PROC_BLANKED,
    }
    if kind != "bwrap":
        yield _unshare(found, network), ()
        return
    fd = -1
    if found["seccomp"]:
        fd = os.memfd_create("autocoder-seccomp", 0)  # inheritable: pass_fds keeps its number
        os.write(fd, bytes.fromhex(found["seccomp"]))
        os.lseek(fd, 0, os.SEEK_SET)
    try:
        yield _bwrap(found, cwd, network, fd), ((fd,) if fd >= 0 else ())
    finally:
        if fd >= 0:
            os.close(fd)


def _unshare(found: dict, network: bool) -> list[str]:
    # -I -S: the jail runs by path, isolated from the project's folder and environment
    return [
        "unshare",
        "--user",
        "--map-root-user",
        *([] if network else ["--net"]),
        "--pid",
        "--ipc",
        "--uts",
        "--fork",
        "--kill-child",
        "--mount-proc",
        sys.executable,
        "-I",
        "-S",
        str(JAIL),
        json.dumps(found),
        "--",
    ]


def _bwrap(found: dict, cwd: str, network: bool, seccomp_fd: int) -> list[str]:
    size = str(found["shm_size"])
    args = [
        "bwrap",
        "--unshare-all",
        *(["--share-net"] if network else []),
        "--die-with-parent",
        "--new-session",
        # the program is the namespace's PID 1, as with unshare: no init of bwrap's beside it
        # whose memory a program of the same user could write (/proc/1/mem), and a check of
        # ours run as PID 1 cannot be killed from inside
        "--as-pid-1",
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        # an empty root: only what follows is there
        *("--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm", "--proc", "/proc"),
        # root (when autocoder runs as root) owns the host's sysctls
        *(a for path in PROC_READ_ONLY for a in ("--ro-bind-try", path, path)),
        *(a for path in PROC_BLANKED for a in ("--ro-bind-try", "/dev/null", path)),
        *("--perms", "0755", "--size", "65536", "--tmpfs", "/tmp"),
    ]
    for kind, source, target in found["binds"]:
        args += ["--bind" if kind == "rw" else "--ro-bind", source, target]
    for place in found["covered"]:
        args += ["--perms", "0755", "--size", "4096", "--tmpfs", place, "--remount-ro", place]
    for path in found["blanked"]:
        args += ["--ro-bind", "/dev/null", path]
    if seccomp_fd >= 0:
        args += ["--seccomp", str(seccomp_fd)]
    return [*args, "--remount-ro", "/tmp", "--remount-ro", "/", "--chdir", cwd, "--"]
