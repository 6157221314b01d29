"""What a sandboxed program sees: its environment, the folders it may write, what is hidden from
it, and the command line (bubblewrap, or `unshare` with `_jail.py`) that confines it so.

Both backends hide the homes, temporary folders and secret files (an empty tmpfs or /dev/null over
them; the Python that runs the code stays readable), keep autocoder's own `.autocoder/` and the
project's `.git/` read-only, and leave the program no capability at all (bwrap --cap-drop ALL; the
jail drops every set and sets no_new_privs), so it cannot remount its way out.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

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
# What the program never sees: homes (keys, tokens, shell history, autocoder's cache), temporary
# folders (other runs' scratch copies), secret stores. Folders get an empty tmpfs, files /dev/null.
HIDDEN_DIRS = ("/root", "/home", "/tmp", "/var/tmp", "/run/user", "/run/secrets", "/etc/ssh")
HIDDEN_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/security/opasswd")
# Never hidden, even as someone's HOME.
SYSTEM_DIRS = frozenset(
    {
        "/",
        "/usr",
        "/bin",
        "/sbin",
        "/lib",
        "/lib64",
        "/etc",
        "/var",
        "/opt",
        "/srv",
        "/dev",
        "/proc",
        "/sys",
        "/run",
    }
)
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
def _works(cmd: list[str], cwd: str) -> bool:
    try:
        run = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=20, check=False)
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
    with scratch("probe") as tmp:
        # from the folder it confines, as every sandboxed run starts (autocoder's own folder may
        # lie in one the sandbox hides: /tmp, /home)
        return _works([*prefix(kind, str(tmp), str(tmp)), "true"], str(tmp))


# ---- what is hidden, what is writable ------------------------------------------------------------
def _real(paths: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(os.path.realpath(p) for p in paths))


def _within(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _outermost(paths: list[str]) -> list[str]:
    """Drop every path that lies inside another of the list."""
    return [p for p in paths if not _within(p, [q for q in paths if q != p])]


def rules(cwd: str, home: str, readable: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """What the program may write, what it must not see, and what stays readable under the hidden
    folders (the Python interpreter and its libraries, and `readable`) - all real paths."""
    user_home = os.path.expanduser("~")
    extra = [user_home] if user_home not in SYSTEM_DIRS else []
    for var in ("AUTOCODER_CACHE_DIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME"):  # may lie outside home
        if os.environ.get(var):
            extra.append(os.environ[var])
    rw = _real([cwd, home])
    hide = [p for p in _real([*HIDDEN_DIRS, *extra]) if os.path.isdir(p) and p not in SYSTEM_DIRS]
    hide = _outermost([p for p in hide if not _within(p, rw)])
    blank = [p for p in _real(HIDDEN_FILES) if os.path.isfile(p) and not _within(p, hide)]
    runtime = [
        sys.prefix,
        sys.base_prefix,
        sys.exec_prefix,
        os.path.dirname(os.path.realpath(sys.executable)),
        *sys.path,
        os.path.dirname(__file__),
        *readable,
    ]
    keep = _outermost(
        [p for p in _real(q for q in runtime if q) if os.path.isdir(p) and _within(p, hide)]
    )
    inside = [os.path.join(rw[0], name) for name in READ_ONLY_DIRS]
    ro = [p for p in inside if os.path.isdir(p) and not os.path.islink(p)]
    return {"rw": rw, "ro": ro, "hide": hide, "blank": blank, "keep": keep}


# ---- the command line ----------------------------------------------------------------------------
def prefix(
    kind: str, cwd: str, home: str, network: bool = False, readable: tuple[str, ...] = ()
) -> list[str]:
    """The command line that runs what follows it confined by `kind` (bwrap or unshare)."""
    found = rules(cwd, home, readable)
    if kind == "bwrap":
        return _bwrap(found, cwd, network)
    # -I -S: the jail runs by path, isolated from the project's folder and environment
    net = [] if network else ["--net"]
    return [
        "unshare",
        "--user",
        "--map-root-user",
        *net,
        "--pid",
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


def _bwrap(found: dict[str, list[str]], cwd: str, network: bool) -> list[str]:
    args = [
        "bwrap",
        "--unshare-all",
        *(["--share-net"] if network else []),
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        # root owns the host's sysctls
        "--ro-bind",
        "/proc/sys",
        "/proc/sys",
    ]
    for folder in found["hide"]:
        args += ["--perms", "0755", "--tmpfs", folder]
    for path in found["blank"]:
        args += ["--ro-bind", "/dev/null", path]
    for path in found["keep"]:
        args += ["--ro-bind", path, path]
    for path in found["rw"]:
        args += ["--bind", path, path]
    for path in found["ro"]:
        args += ["--ro-bind", path, path]
    for folder in found["hide"]:
        args += ["--remount-ro", folder]
    return [*args, "--chdir", cwd, "--"]
