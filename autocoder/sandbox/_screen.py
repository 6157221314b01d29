"""`_tool.py screen`: many candidates' main.py, each in a fork of its own, inside one sandbox.

Loaded by _tool.py by its exact path. A candidate must not change its rivals' results: every
candidate's source is read before any runs, each gets a folder of its own with an unguessable name
made just before it runs, everything it left running is killed before the next starts, and each
result is reported as it comes, so a candidate that kills the screen leaves the results before it
(autocoder screens the rest one by one: screen.py).
"""

from __future__ import annotations

import contextlib
import functools
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
    each = float(job.get("each") or 0)  # derived calls: seconds each; 0: the whole time
    deadline = time.monotonic() + float(job["timeout"]) - MARGIN
    mark = 0  # where the output compared starts (derived calls: after the import)
    try:
        if calls:
            main = tool.main_for(calls)
            sys.stdout.flush()
            mark = os.lseek(1, 0, os.SEEK_CUR) if each else 0
            timed = functools.partial(_timed, tool, main=main, each=each, deadline=deadline)
            answer = timed if each else functools.partial(tool.answer, main=main)
            result["answers"] = [answer(call) for call in calls]
            result["ok"] = True
            send()
            result["probes"] = [tool.answer(call, main) for call in job.get("probes", [])]
        else:
            runpy.run_path("main.py", run_name="__main__")
            result["ok"] = True
    except BaseException as exc:  # noqa: BLE001 (a crash or exit of the candidate is its result)
        result["ok"] = result["ok"] or (isinstance(exc, SystemExit) and exc.code in (0, None))
    sys.stdout.flush()
    captured.seek(mark)
    output = captured.read(2000).decode("utf-8", errors="replace")
    result["output"] = output.replace(folder, ".")  # the same program, the same output
    send()
    os._exit(0)


# A derived call past its time raises this: named as reported, and not an Exception, so that a
# candidate's `except Exception` cannot swallow it (the timer repeats until the call is over).
Late = type("TimeoutError", (BaseException,), {})
MARGIN = 0.5  # seconds left for the report before the parent's kill


def _timed(tool, call: str, *, main: object, each: float, deadline: float) -> dict:
    """One derived call's answer, stopped after `each` seconds or at the candidate's deadline,
    so that an input a program loops on (outside its domain, say) leaves its other answers."""
    left = min(each, deadline - time.monotonic())
    late = {"raised": ["TimeoutError", f"took over {each:g} s"]}
    if left <= 0:
        return late
    armed = [True]

    def ring(signum: int, frame: object) -> None:
        if armed[0]:
            raise Late()

    signal.signal(signal.SIGALRM, ring)  # again each call: a candidate may have replaced it
    try:
        signal.setitimer(signal.ITIMER_REAL, left, 0.05)
        try:
            got = tool.answer(call, main)
        finally:
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
    except Late:  # rang after the answer caught the first ring
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        return late
    return got


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
