"""The one runner for model-written code (main.py, the project's tests, package installs).

Isolation, best first: bubblewrap, else unprivileged namespaces through `unshare` (util-linux) and
`autocoder/_jail.py`; with either, the child has no network, sees only its own processes, and can
write only to the project folder and a private temporary folder (its HOME). Without one, runs are
refused unless the user passed --unsafe. Both backends hide the homes, temporary folders and
secret files (an empty tmpfs or /dev/null over them; the Python that runs the code stays readable),
keep autocoder's own `.autocoder/` read-only, and leave the program no capability at all (bwrap
--cap-drop ALL; the jail drops every set and sets no_new_privs), so it cannot remount its way out.
Always: an environment built from an allow-list (no API key reaches the child), rlimits on memory,
CPU, file size and processes, a pids cgroup where the system lets us make one, a wall-clock timeout
that kills the whole tree (the PID namespace takes setsid grandchildren with it), death with
autocoder (a parent-death signal: a killed autocoder leaves nothing running; what a SIGKILL left on
disk is swept at the next start), and output read as a stream of which only head and tail are kept.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import resource
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ._tool import REPORT
from .exceptions import AutocoderError
from .state import ProcResult

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
MEMORY_LIMIT = 2 * 1024**3  # address space, bytes
FILE_LIMIT = 64 * 1024**2  # largest file the child may write, bytes
PROCESS_LIMIT = (
    128  # processes and threads of one run (pids cgroup; rlimit above what the user runs)
)
OUTPUT_LIMIT = 4000  # characters handed back (head and tail kept)
JAIL = Path(__file__).with_name("_jail.py")
TOOL = Path(__file__).with_name("_tool.py")
CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")  # v1 pids controller, or a v2 hierarchy
# Read-only to the program: autocoder's own folder, and git's (hooks and config run on the user's
# next `git status` or commit).
READ_ONLY_DIRS = (".autocoder", ".git")
# What the program never sees: homes (keys, tokens, shell history, autocoder's cache), temporary
# folders (other runs' scratch copies), secret stores. Folders get an empty tmpfs, files /dev/null.
HIDDEN_DIRS = ("/root", "/home", "/tmp", "/var/tmp", "/run/user", "/run/secrets", "/etc/ssh")
HIDDEN_FILES = ("/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/security/opasswd")
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
)  # never hidden, even as someone's HOME
PR_SET_PDEATHSIG = 1

_unsafe = False


def site_packages(root: Path) -> Path | None:
    """The site-packages of the project's own .venv (autocoder.packages installs there), if any."""
    found = sorted(Path(root).glob(".venv/lib/python*/site-packages"))
    return found[0] if found else None


def child_env(home: str, cwd: Path | None = None, network: bool = False) -> dict[str, str]:
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
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # the project's tests, not autocoder's plugins (2x faster)
    )
    return env


# ---- scratch folders ---------------------------------------------------------------------------
@contextlib.contextmanager
def scratch(kind: str) -> Iterator[Path]:
    """A private temporary folder named for this process, so that one a SIGKILL left behind is
    recognised and removed by the next start (`sweep`)."""
    with tempfile.TemporaryDirectory(prefix=f"autocoder-{kind}-{os.getpid()}-") as tmp:
        yield Path(tmp)


def _dead(pid_text: str) -> bool:
    try:
        os.kill(int(pid_text), 0)
    except (ValueError, OverflowError):
        return False
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def sweep() -> None:
    """Remove the scratch folders and cgroups of autocoder processes that are gone (killed)."""
    for path in Path(tempfile.gettempdir()).glob("autocoder-*-*-*"):
        parts = path.name.split("-")
        try:
            mine = path.lstat().st_uid == os.getuid() and path.is_dir() and not path.is_symlink()
        except OSError:
            continue
        if mine and _dead(parts[2]):
            shutil.rmtree(path, ignore_errors=True)
    for root in CGROUP_ROOTS:
        for group in Path(root).glob("autocoder-*-*"):
            if _dead(group.name.split("-")[1]):
                _kill_cgroup(group)


# ---- isolation -------------------------------------------------------------------------------------
def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=1)
def backend() -> str:
    """bwrap, unshare, or "" when neither can isolate on this machine."""
    for kind in ("bwrap", "unshare"):
        if available(kind):
            return kind
    return ""


@functools.lru_cache(maxsize=2)
def available(kind: str) -> bool:
    """Whether this backend confines a program here (its tool is installed and allowed to work)."""
    if not shutil.which(kind):
        return False
    with scratch("probe") as tmp:
        return _works(_prefix(kind, str(tmp), str(tmp)) + ["true"])


HOW_TO_ENABLE = (
    "model-written code must run isolated, and this machine offers no way: install bubblewrap "
    "(apt install bubblewrap) or enable unprivileged user namespaces "
    "(sysctl -w kernel.unprivileged_userns_clone=1), or pass --unsafe to run it unconfined"
)


def require(unsafe: bool = False) -> str:
    """Check, before a run writes anything, that code can run isolated. With --unsafe a machine
    without isolation runs it unconfined, after one warning; isolation is still used when it works.
    Sweeps what killed runs left behind."""
    global _unsafe
    _unsafe = unsafe
    sweep()
    if backend():
        return backend()
    if not unsafe:
        _refuse()
    print(
        "warning: --unsafe: no sandbox here; model-written code runs unconfined (network, files)",
        file=sys.stderr,
    )
    return ""


def _real(paths) -> list[str]:
    return list(dict.fromkeys(os.path.realpath(p) for p in paths))


def _within(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _outermost(paths: list[str]) -> list[str]:
    """Drop every path that lies inside another of the list."""
    return [p for p in paths if not _within(p, [q for q in paths if q != p])]


def policy(cwd: str, home: str, readable: tuple[str, ...] = ()) -> dict[str, list[str]]:
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


def _prefix(
    kind: str, cwd: str, home: str, network: bool = False, readable: tuple[str, ...] = ()
) -> list[str]:
    rules = policy(cwd, home, readable)
    if kind == "bwrap":
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
            "--ro-bind",
            "/proc/sys",
            "/proc/sys",
        ]  # root owns the host's sysctls
        for folder in rules["hide"]:
            args += ["--perms", "0755", "--tmpfs", folder]
        for path in rules["blank"]:
            args += ["--ro-bind", "/dev/null", path]
        for path in rules["keep"]:
            args += ["--ro-bind", path, path]
        for path in rules["rw"]:
            args += ["--bind", path, path]
        for path in rules["ro"]:
            args += ["--ro-bind", path, path]
        for folder in rules["hide"]:
            args += ["--remount-ro", folder]
        return [*args, "--chdir", cwd, "--"]
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
        json.dumps(rules),
        "--",
    ]


# ---- limits ----------------------------------------------------------------------------------------
def _user_processes() -> int:
    uid = os.getuid()
    if uid == 0:  # root ignores RLIMIT_NPROC (the cgroup limits it): no need to count
        return 0
    try:
        return sum(
            1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == uid
        )
    except OSError:
        return 0


def _cgroup() -> Path | None:
    """A fresh pids cgroup limited to PROCESS_LIMIT, where the system lets us create one."""
    for root in CGROUP_ROOTS:
        group = Path(root) / f"autocoder-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            (group / "pids.max").write_text(str(PROCESS_LIMIT))
            return group
        except OSError:
            group.rmdir()
    return None


def _kill_cgroup(group: Path) -> None:
    """Kill every process left in the cgroup (setsid or not), then remove it."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            break
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    try:
        group.rmdir()
    except OSError:
        pass


_libc = ctypes.CDLL(None, use_errno=True)


def _limits(
    cpu_s: int, nproc: int, group: Path | None, parent: int
) -> None:  # in the child, before exec
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)  # autocoder killed: the run dies with it
    if os.getppid() != parent:  # it died before the line above took effect
        os._exit(137)
    if group is not None:
        try:
            (group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            pass  # the rlimit and the namespaces still hold
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(
        resource.RLIMIT_NPROC, (nproc, nproc)
    )  # not enforced for root: the cgroup is


# ---- output ----------------------------------------------------------------------------------------
class _Tail:
    """Reads a stream to its end keeping only its head and tail: 1 GB of output costs no memory."""

    def __init__(self, stream, keep: int = OUTPUT_LIMIT * 4) -> None:
        self.head, self.tail, self.total, self.keep = bytearray(), bytearray(), 0, keep
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        while chunk := stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16):
            self.total += len(chunk)
            room = self.keep - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            if len(self.tail) > 2 * self.keep:
                del self.tail[: len(self.tail) - self.keep]

    def text(self) -> str:
        cut = self.total - len(self.head) - len(self.tail)
        middle = f"\n[... {cut} bytes cut ...]\n" if cut > 0 else ""
        return (
            bytes(self.head).decode("utf-8", "replace")
            + middle
            + bytes(self.tail).decode("utf-8", "replace")
        )


def cap(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """Keep the head and tail of long output, saying how much was cut."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 3], text[-(2 * limit) // 3 :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}"


# ---- run -------------------------------------------------------------------------------------------
def run(
    args: list[str],
    cwd: Path,
    timeout: float = 20.0,
    stdin: str = "",
    network: bool = False,
    report: str = "",
    readable: tuple[str, ...] = (),
) -> ProcResult:
    """Run `args` in `cwd` contained; everything it started dies at the timeout or when it ends.
    `network` is for package installs only: model-written programs never get it. `report` names a
    file the command writes in its scratch HOME; its JSON comes back as the result's `report`.
    `readable`: folders that stay visible (read-only) even where they lie in a hidden one."""
    start = time.monotonic()
    kind = backend() or ("" if _unsafe else _refuse())
    cwd = Path(cwd).resolve()
    with scratch("home") as home_path:
        home = str(home_path)
        group = _cgroup()
        nproc = _user_processes() + PROCESS_LIMIT
        prefix = _prefix(kind, str(cwd), home, network, readable) if kind else []
        parent = os.getpid()
        proc = subprocess.Popen(
            prefix + args,
            cwd=cwd,
            env=child_env(home, cwd, network),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _limits(int(timeout) + 1, nproc, group, parent),
        )
        reader = _Tail(proc.stdout)
        try:
            proc.stdin.write(stdin.encode())
            proc.stdin.close()
        except OSError:  # the child closed its stdin: fine
            pass
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc.pid)  # the child's group, and leftovers that outlived their parent
            if group is not None:
                _kill_cgroup(group)
            proc.wait()
        reader.thread.join(timeout=5)  # a descendant that escaped every kill cannot hold us here
        _defuse(cwd)
        found = _read_report(home_path / report) if report else None
    text = reader.text()
    # Paths relative to the project: the model needs no machine paths, and the same project in
    # another folder (or a rerun) then gets the same prompt, so the response cache answers it.
    text = text.replace(str(cwd) + os.sep, "").replace(str(cwd), ".").replace(home, "~")
    if timed_out:
        text += f"\n[timed out after {timeout:.0f} s]"
    return ProcResult(proc.returncode, cap(text), time.monotonic() - start, timed_out, found)


def _defuse(root: Path) -> None:
    """Clear setuid and setgid bits the program set on files it left: run by a root autocoder it
    owns what it writes, and a setuid-root copy of a shell would outlive the run."""
    for folder, dirs, files in os.walk(root):
        for name in files + dirs:
            path = os.path.join(folder, name)
            try:
                mode = os.lstat(path).st_mode
                if mode & (stat.S_ISUID | stat.S_ISGID) and not stat.S_ISLNK(mode):
                    os.chmod(path, stat.S_IMODE(mode) & ~(stat.S_ISUID | stat.S_ISGID))
            except OSError:
                pass


def _read_report(path: Path) -> dict | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _refuse() -> str:
    raise AutocoderError(HOW_TO_ENABLE)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def python(script_args: list[str], cwd: Path, timeout: float = 20.0) -> ProcResult:
    """Run the project's Python with the interpreter autocoder runs on (it has pytest)."""
    return run([sys.executable, *script_args], cwd, timeout)


def tool(args: list[str], cwd: Path, timeout: float = 20.0, stdin: str = "") -> ProcResult:
    """Run one of autocoder's own checks on the project (see _tool.py: pytest, examples), shielded
    from everything the project holds. Passing needs the check's own report: a program that exits
    early, or prints a verdict, does not pass."""
    # The report must carry a token the program cannot read (the tool takes it from stdin before
    # importing anything of the project): a report.json the program wrote itself does not count.
    token = secrets.token_hex(16)
    result = run(
        [sys.executable, "-I", str(TOOL), *args],
        cwd,
        timeout,
        stdin=f"{token}\n{stdin}",
        report=REPORT,
    )
    report = result.report if result.report and result.report.get("token") == token else {}
    failed = (
        report.get("exit") != 0
        or report.get("failed", 0)
        or report.get("passed") == 0
        or not all(report.get("results", [True]))
    )
    if result.ok and failed:
        note = (
            "\n[autocoder: the checks did not report success (did the program exit during them?)]"
        )
        return ProcResult(1, result.output + note, result.seconds, False, report)
    return ProcResult(
        result.returncode, result.output, result.seconds, result.timed_out, report or None
    )
