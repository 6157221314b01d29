"""The one runner for model-written code (main.py, the project's tests, package installs).

Isolation, best first: bubblewrap, else unprivileged namespaces through `unshare` (util-linux) and
`autocoder/_jail.py`; with either, the child has no network, sees only its own processes, and can
write only to the project folder and a private temporary folder (its HOME); what it sees is
`isolation`'s. Without one, runs are refused unless the caller's `Sandbox` says `unsafe` (the
user passed --unsafe). Always: an environment built from an allow-list (no API key reaches the
child), the limits of `limits` (rlimits, a pids cgroup, death with autocoder), a wall-clock timeout
that kills the whole tree (the PID namespace takes setsid grandchildren with it), and output read
as a stream of which only head and tail are kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

from ..exceptions import AutocoderError
from ..state import ProcResult
from . import isolation, leftovers, limits
from ._tool import REPORT
from .isolation import available, backend, child_env, confinement
from .limits import scratch, sweep

__all__ = [
    "OUTPUT_LIMIT",
    "SAFE",
    "Sandbox",
    "available",
    "backend",
    "cap",
    "python",
    "require",
    "run",
    "scratch",
    "sweep",
    "tool",
]

OUTPUT_LIMIT = 4000  # characters handed back (head and tail kept)
TOOL = Path(__file__).with_name("_tool.py")
HOW_TO_ENABLE = (
    "model-written code must run isolated, and this machine offers no way: install bubblewrap "
    "(apt install bubblewrap) or enable unprivileged user namespaces "
    "(sysctl -w kernel.unprivileged_userns_clone=1), or pass --unsafe to run it unconfined"
)


# ---- policy ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Sandbox:
    """How model-written code runs, decided once (`require`, at the top: the CLI, the API, the
    bench) and handed to everything that runs code, which takes it without a default, so a caller
    that forgets it fails instead of running under another. `unsafe` lets code run unconfined
    where no backend isolates; `backend` forces one ("" for none) instead of the best here."""

    unsafe: bool = False
    backend: Literal["bwrap", "unshare", ""] | None = None

    def __post_init__(self) -> None:
        if self.backend not in (None, "", *isolation.BACKENDS):
            raise ValueError(f"unknown sandbox backend {self.backend!r}")

    def kind(self) -> str:
        """The backend a run uses, "" for unconfined; raises where that is not allowed."""
        kind = isolation.backend() if self.backend is None else self.backend
        if not kind and not self.unsafe:
            raise AutocoderError(HOW_TO_ENABLE)
        return kind


SAFE = Sandbox()  # the best backend here, and no run at all without one (AgentConfig's default)


def require(unsafe: bool = False) -> Sandbox:
    """Check, before a run writes anything, that code can run isolated, and return the policy its
    runs take. With --unsafe a machine without isolation runs it unconfined, after one warning;
    isolation is still used when it works. Sweeps what killed runs left behind."""
    sweep()
    policy = Sandbox(unsafe=unsafe, backend=isolation.backend())
    if not policy.kind():
        print(
            "warning: --unsafe: no sandbox here; model-written code runs unconfined (network, "
            "files)",
            file=sys.stderr,
        )
    return policy


# ---- output ------------------------------------------------------------------------------------
class _Tail:
    """Reads a stream to its end keeping only its head and tail: 1 GB of output costs no memory."""

    def __init__(self, stream: IO[bytes], keep: int = OUTPUT_LIMIT * 4) -> None:
        self.head, self.tail, self.total, self.keep = bytearray(), bytearray(), 0, keep
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream: IO[bytes]) -> None:
        read = stream.read1 if hasattr(stream, "read1") else stream.read
        while chunk := read(1 << 16):
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


# ---- run ---------------------------------------------------------------------------------------
def run(
    args: list[str],
    cwd: Path,
    timeout: float = 20.0,
    stdin: str = "",
    network: bool = False,
    report: str = "",
    readable: tuple[str, ...] = (),
    *,
    policy: Sandbox,
    pass_fds: tuple[int, ...] = (),
) -> ProcResult:
    """Run `args` in `cwd` contained; everything it started dies at the timeout or when it ends.
    `network` is for package installs only: model-written programs never get it. `report` names a
    file the command writes in its scratch HOME; its JSON comes back as the result's `report`.
    `readable`: folders that stay visible (read-only) even where they lie in a hidden one.
    `pass_fds`: descriptors the program inherits (a socket to another sandboxed run)."""
    start = time.monotonic()
    kind = policy.kind()
    cwd = Path(cwd).resolve()
    with scratch("home") as home_path:
        home = str(home_path)
        before = limits.survey(cwd)  # what is the user's: defuse leaves it alone
        groups = limits.cgroups()
        nproc = limits.user_processes() + limits.PROCESS_LIMIT
        confined = (
            confinement(kind, str(cwd), home, network, readable, leftovers.folders(before))
            if kind
            else contextlib.nullcontext(([], ()))
        )
        # The parent-death signal and the rlimits can only be set between fork and exec: a hook
        # built here, so that the child only calls prctl, setrlimit and one write.
        hook = limits.preexec(int(timeout) + 1, nproc, groups, os.getpid())
        with confined as (confine, fds):
            proc = subprocess.Popen(
                [*confine, *args],
                cwd=cwd,
                env=child_env(home, cwd, network),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=(*pass_fds, *fds),
                preexec_fn=hook,  # noqa: PLW1509 (see the hook above: there is no other way)
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
            if proc.poll() is None:  # alive (so its pid is still its own): its namespace's init,
                limits.kill_children(proc.pid)  # and all in the namespace with it
            limits.kill_group(proc.pid)  # the child's group, and leftovers that outlived it
            proc.wait()  # reaped before the cgroups are emptied: they wait on what is left
            for group in groups:
                limits.kill_cgroup(group)
        reader.thread.join(timeout=5)  # a descendant that escaped every kill cannot hold us here
        limits.defuse(cwd, before)
        found = _read_report(home_path / report) if report else None
    text = reader.text()
    # Paths relative to the project: the model needs no machine paths, and the same project in
    # another folder (or a rerun) then gets the same prompt, so the response cache answers it.
    text = text.replace(str(cwd) + os.sep, "").replace(str(cwd), ".").replace(home, "~")
    if timed_out:
        text += f"\n[timed out after {timeout:.0f} s]"
    return ProcResult(proc.returncode, cap(text), time.monotonic() - start, timed_out, found)


def _read_report(path: Path) -> dict | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError, MemoryError):  # a program's nested "[[[..."
        return None
    return data if isinstance(data, dict) else None


def python(
    script_args: list[str], cwd: Path, timeout: float = 20.0, *, policy: Sandbox
) -> ProcResult:
    """Run the project's Python with the interpreter autocoder runs on (it has pytest)."""
    return run([sys.executable, *script_args], cwd, timeout, policy=policy)


def tool(
    args: list[str],
    cwd: Path,
    timeout: float = 20.0,
    stdin: str = "",
    *,
    policy: Sandbox,
    pass_fds: tuple[int, ...] = (),
) -> ProcResult:
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
        policy=policy,
        pass_fds=pass_fds,
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
