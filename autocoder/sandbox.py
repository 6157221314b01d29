"""The one runner for model-written code (main.py, the project's tests, package installs).

Isolation, best first: bubblewrap, else unprivileged namespaces through `unshare` (util-linux) and
`autocoder/_jail.py`; with either, the child has no network, sees only its own processes, and can
write only to the project folder and a private temporary folder (its HOME). Without one, runs are
refused unless the user passed --unsafe. Always: an environment built from an allow-list (no API
key reaches the child), rlimits on memory, CPU, file size and processes, a pids cgroup where the
system lets us make one, a wall-clock timeout that kills the whole tree (the PID namespace takes
setsid grandchildren with it), and output read as a stream of which only head and tail are kept.
"""

from __future__ import annotations

import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from .exceptions import AutocoderError
from .state import ProcResult

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
NETWORK_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
               "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_CERT", "SSL_CERT_FILE")  # fmt: skip
MEMORY_LIMIT = 2 * 1024**3  # address space, bytes
FILE_LIMIT = 64 * 1024**2  # largest file the child may write, bytes
PROCESS_LIMIT = 128  # processes and threads of one run (pids cgroup; rlimit above what the user runs)
OUTPUT_LIMIT = 4000  # characters handed back (head and tail kept)
JAIL = Path(__file__).with_name("_jail.py")
CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup")  # v1 pids controller, or a v2 hierarchy

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


# ---- isolation -------------------------------------------------------------------------------------
def _works(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.lru_cache(maxsize=1)
def backend() -> str:
    """bwrap, unshare, or "" when neither can isolate on this machine."""
    with tempfile.TemporaryDirectory(prefix="autocoder-probe-") as tmp:
        if shutil.which("bwrap") and _works(_prefix("bwrap", tmp, tmp) + ["true"]):
            return "bwrap"
        if shutil.which("unshare") and _works(_prefix("unshare", tmp, tmp) + ["true"]):
            return "unshare"
    return ""


HOW_TO_ENABLE = (
    "model-written code must run isolated, and this machine offers no way: install bubblewrap "
    "(apt install bubblewrap) or enable unprivileged user namespaces "
    "(sysctl -w kernel.unprivileged_userns_clone=1), or pass --unsafe to run it unconfined"
)


def require(unsafe: bool = False) -> str:
    """Check, before a run writes anything, that code can run isolated. With --unsafe a machine
    without isolation runs it unconfined, after one warning; isolation is still used when it works."""
    global _unsafe
    _unsafe = unsafe
    if backend():
        return backend()
    if not unsafe:
        _refuse()
    print("warning: --unsafe: no sandbox here; model-written code runs unconfined (network, files)", file=sys.stderr)
    return ""


def _prefix(kind: str, cwd: str, home: str, network: bool = False) -> list[str]:
    if kind == "bwrap":
        net = ["--share-net"] if network else []
        return ["bwrap", "--unshare-all", *net, "--die-with-parent", "--new-session", "--ro-bind", "/", "/",
                "--dev", "/dev", "--proc", "/proc", "--bind", cwd, cwd, "--bind", home, home,
                "--chdir", cwd, "--"]  # fmt: skip
    # -I -S: the jail runs by path, isolated from the project's folder and environment
    net = [] if network else ["--net"]
    return ["unshare", "--user", "--map-root-user", *net, "--pid", "--fork", "--kill-child",
            "--mount-proc", sys.executable, "-I", "-S", str(JAIL), cwd, home, "--"]  # fmt: skip


# ---- limits ----------------------------------------------------------------------------------------
def _user_processes() -> int:
    uid = os.getuid()
    if uid == 0:  # root ignores RLIMIT_NPROC (the cgroup limits it): no need to count
        return 0
    try:
        return sum(1 for p in Path("/proc").iterdir() if p.name.isdigit() and p.stat().st_uid == uid)
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


def _limits(cpu_s: int, nproc: int, group: Path | None) -> None:  # in the child, before exec
    if group is not None:
        try:
            (group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            pass  # the rlimit and the namespaces still hold
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))  # not enforced for root: the cgroup is


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
        return (bytes(self.head).decode("utf-8", "replace") + middle + bytes(self.tail).decode("utf-8", "replace"))


def cap(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """Keep the head and tail of long output, saying how much was cut."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 3], text[-(2 * limit) // 3 :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}"


# ---- run -------------------------------------------------------------------------------------------
def run(args: list[str], cwd: Path, timeout: float = 20.0, stdin: str = "", network: bool = False) -> ProcResult:
    """Run `args` in `cwd` contained; everything it started dies at the timeout or when it ends.
    `network` is for package installs only: model-written programs never get it."""
    start = time.monotonic()
    kind = backend() or ("" if _unsafe else _refuse())
    cwd = Path(cwd).resolve()
    with tempfile.TemporaryDirectory(prefix="autocoder-home-") as home:
        group = _cgroup()
        nproc = _user_processes() + PROCESS_LIMIT
        prefix = _prefix(kind, str(cwd), home, network) if kind else []
        proc = subprocess.Popen(
            prefix + args,
            cwd=cwd,
            env=child_env(home, cwd, network),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _limits(int(timeout) + 1, nproc, group),
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
    text = reader.text()
    # Paths relative to the project: the model needs no machine paths, and the same project in
    # another folder (or a rerun) then gets the same prompt, so the response cache answers it.
    text = text.replace(str(cwd) + os.sep, "").replace(str(cwd), ".").replace(home, "~")
    if timed_out:
        text += f"\n[timed out after {timeout:.0f} s]"
    return ProcResult(proc.returncode, cap(text), time.monotonic() - start, timed_out)


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
