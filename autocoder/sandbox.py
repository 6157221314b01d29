"""The one runner for model-written code: allow-listed environment, resource limits, hard timeout.

Every command that executes project code (main.py, the project's tests) goes through `run`.
Secrets never reach the child: its environment is built from an allow-list, not copied.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .state import ProcResult

ENV_ALLOW = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TERM")
MEMORY_LIMIT = 2 * 1024**3  # address space, bytes
FILE_LIMIT = 64 * 1024**2  # largest file the child may write, bytes
OUTPUT_LIMIT = 4000  # characters handed back (head and tail kept)


def child_env(home: str) -> dict[str, str]:
    env = {k: os.environ[k] for k in ENV_ALLOW if k in os.environ}
    env.update(
        HOME=home,
        TMPDIR=home,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONUNBUFFERED="1",
        PYTHONHASHSEED="0",
        NO_COLOR="1",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",  # the project's tests, not autocoder's pytest plugins (2x faster)
    )
    return env


def _limits(cpu_s: int) -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def cap(text: str, limit: int = OUTPUT_LIMIT) -> str:
    """Keep the head and tail of long output, saying how much was cut."""
    if len(text) <= limit:
        return text
    head, tail = text[: limit // 3], text[-(2 * limit) // 3 :]
    return f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}"


def run(args: list[str], cwd: Path, timeout: float = 20.0, stdin: str = "") -> ProcResult:
    """Run `args` in `cwd` contained; the whole process group dies at the timeout."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="autocoder-home-") as home:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=child_env(home),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lambda: _limits(int(timeout) + 1),
        )
        timed_out = False
        try:
            out, _ = proc.communicate(stdin.encode(), timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc.pid)
            out, _ = proc.communicate()
        finally:
            _kill_group(proc.pid)  # leftovers that outlived their parent
    text = out.decode("utf-8", errors="replace")
    # Paths relative to the project: the model needs no machine paths, and the same project in
    # another folder (or a rerun) then gets the same prompt, so the response cache answers it.
    root = str(Path(cwd).resolve())
    text = text.replace(root + os.sep, "").replace(root, ".").replace(home, "~")
    if timed_out:
        text += f"\n[timed out after {timeout:.0f} s]"
    return ProcResult(proc.returncode, cap(text), time.monotonic() - start, timed_out)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def python(script_args: list[str], cwd: Path, timeout: float = 20.0) -> ProcResult:
    """Run the project's Python with the interpreter autocoder runs on (it has pytest)."""
    return run([sys.executable, *script_args], cwd, timeout)
