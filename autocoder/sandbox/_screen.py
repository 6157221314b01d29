"""`_tool.py screen`: many candidates' main.py, each in a fork of its own, inside one sandbox.

Loaded by _tool.py by its exact path. A candidate must not change its rivals' results: every
candidate's source is read before any runs, each gets a folder of its own with an unguessable name
made just before it runs, everything it left running is killed before the next starts, and each
result is reported as it comes, so a candidate that kills the screen leaves the results before it
(autocoder screens the rest one by one: screen.py).
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy  # imported before any candidate runs, never after one could plant something
import secrets
import select
import signal
import sys
import tempfile
import time


def _one(source: str, job: dict, out: int, tool) -> None:
    """In a forked child: one candidate's main.py, what it answered (or printed) written to `out`,
    a JSON line after the examples and another after the probes."""
    os.setsid()  # a group of its own: killing "its group" does not end the screen
    folder = os.path.join(os.getcwd(), secrets.token_hex(16))
    os.mkdir(folder, 0o700)
    os.chdir(folder)
    with open("main.py", "x", encoding="utf-8") as fh:
        fh.write(source)
    sys.path.append(folder)
    sys.argv = ["main.py"]  # as `python main.py` would see it
    sys.stdin = open(os.devnull)  # noqa: SIM115 (the child's whole life)
    captured = tempfile.TemporaryFile(dir=os.environ.get("HOME"))  # noqa: SIM115
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115 (a real file)
    result: dict = {"ok": False, "answers": [], "probes": [], "output": ""}

    def send() -> None:
        os.write(out, (json.dumps(result) + "\n").encode())

    calls = job["calls"]
    each = float(job.get("each") or 0)  # 0: the candidate's whole time

    def timed(call: str, main: object) -> dict:
        """One call's answer; with `each`, one that runs past it answers TimeoutError, so that
        an input a program loops on (outside its domain, say) leaves its other answers."""
        signal.setitimer(signal.ITIMER_REAL, each)
        try:
            return tool.answer(call, main)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def late(signum: int, frame: object) -> None:
        raise TimeoutError(f"took over {each:g} s")

    signal.signal(signal.SIGALRM, late)
    try:
        if calls:
            main = tool.main_for(calls)
            result["answers"] = [timed(call, main) for call in calls]
            result["ok"] = True
            send()
            result["probes"] = [timed(call, main) for call in job.get("probes", [])]
        else:
            runpy.run_path("main.py", run_name="__main__")
            result["ok"] = True
    except BaseException as exc:  # noqa: BLE001 (a crash or exit of the candidate is its result)
        result["ok"] = result["ok"] or (isinstance(exc, SystemExit) and exc.code in (0, None))
    sys.stdout.flush()
    captured.seek(0)
    result["output"] = captured.read(2000).decode("utf-8", errors="replace")
    send()
    os._exit(0)


def _last_line(data: bytes) -> dict:
    """The last whole JSON line a screened child wrote."""
    for line in reversed(data.split(b"\n")):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return {"ok": False, "answers": [], "output": ""}


def _read(read: int, timeout: float) -> bytes:
    data, deadline = b"", time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0 and len(data) < 8_000_000:
        if not select.select([read], [], [], left)[0]:
            break
        chunk = os.read(read, 1 << 16)
        if not chunk:
            break
        data += chunk
    return data


def run_screen(job: dict, token: str, tool) -> int:
    """Each candidate in a fork of its own, one after another, each stopped at `timeout` seconds
    with everything it started; its result reported before the next starts."""
    tool.sibling("_codec")  # before any candidate: nothing of theirs is on sys.path yet
    sources = list(job["mains"])  # all in memory before any candidate runs
    base, results = os.getcwd(), []
    for source in sources:
        with contextlib.suppress(OSError):  # a rival may have made it read-only: it is ours
            os.chmod(base, 0o700)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _one(source, job, write, tool)
        os.close(write)
        data = _read(read, job["timeout"])
        os.close(read)
        for kill in (os.killpg, os.kill):  # its group (what it started), then itself
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        if job.get("confined"):
            tool.sweep()  # what it started in a session of its own, too
        results.append(_last_line(data))
        tool.report({"exit": 0, "results": results}, token)
    tool.report({"exit": 0, "results": results}, token)
    return 0
