"""autocoder's own checks of a project, run inside the sandbox with the project as the folder.

    python -I _tool.py pytest PYTEST_ARG...     the project's or the bench's tests
    python -I _tool.py examples < CHECKS_JSON   the goal's examples against main.py
    python -I _tool.py screen < SCREEN_JSON     many candidates' main.py, each in a fork of its own

Nothing the project holds may change what these report. `-I` keeps the project's folder and every
PYTHON* variable out of the start-up, so the tools and the standard library come from autocoder's
environment; the project's folder (and its own .venv) are appended after them, so a `pytest.py`,
`json.py` or `sitecustomize.py` of the project is never the one imported. Bytecode is neither read
from nor written to the project (a planted `__pycache__` changes nothing). The verdict goes to
$HOME/report.json (the scratch HOME, outside the project) with the token autocoder sent on the
first line of stdin: a program that exits during the tests, prints "1 passed" or writes a report
of its own leaves no passing report behind.
"""

from __future__ import annotations

import ast
import contextlib
import glob
import json
import math
import os
import sys

REPORT = "report.json"  # in the scratch HOME; sandbox.tool reads it back


def _isolate() -> None:
    home = os.environ.get("HOME", "/nonexistent")
    sys.dont_write_bytecode = True
    sys.pycache_prefix = os.path.join(home, "pycache")  # never the project's __pycache__
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path.append(here)
    sys.path.extend(
        sorted(glob.glob(os.path.join(here, ".venv", "lib", "python*", "site-packages")))[:1]
    )


def _report(data: dict, token: str) -> None:
    path = os.path.join(os.environ["HOME"], REPORT)
    if os.path.lexists(path):  # whatever the program left there (a file, a link, a FIFO) goes
        os.unlink(path)
    with open(path, "x", encoding="utf-8") as fh:
        json.dump({**data, "token": token}, fh)


class _Count:
    """A pytest plugin counting outcomes: the verdict comes from here, not from pytest's text."""

    def __init__(self) -> None:
        self.passed = self.failed = 0

    def pytest_runtest_logreport(self, report) -> None:
        if report.failed:
            self.failed += 1
        elif report.passed and report.when == "call":
            self.passed += 1

    def pytest_collectreport(self, report) -> None:
        if report.failed:
            self.failed += 1


def run_pytest(args: list[str], token: str) -> int:
    import pytest

    count = _Count()
    code = int(pytest.main(args, plugins=[count]))
    _report({"exit": code, "passed": count.passed, "failed": count.failed}, token)
    return code


def _same(got: object, want: str) -> bool:
    try:
        expected = ast.literal_eval(want)
    except Exception:  # noqa: BLE001 (deliberate: see below)
        # literal_eval fails in many ways on what is not a literal (ValueError, SyntaxError,
        # TypeError, RecursionError...): each means "compare as text"
        return repr(got) == want or str(got) == want
    if isinstance(got, float) and isinstance(expected, (int, float)):
        return math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9)
    return bool(got == expected)


RUN = "__run__"  # examples.RUN: a command line's example calls it


def _run(*args: object) -> str:
    """main.py run as `python main.py ARGS` would run it, with nothing on stdin: what it printed
    (stripped); an exit is the end of the run, any other error its answer."""
    import io
    import runpy

    saved = sys.argv, sys.stdin, sys.stdout
    out = io.StringIO()
    sys.argv, sys.stdin, sys.stdout = ["main.py", *map(str, args)], io.StringIO(""), out
    try:
        runpy.run_path("main.py", run_name="__main__")
    except SystemExit:
        pass
    finally:
        sys.argv, sys.stdin, sys.stdout = saved
    return out.getvalue().strip()


def _main_for(checks: list[list[str]]) -> object:
    """main imported, unless every check runs it as a command (a command line tool may read
    its arguments, or exit, as it is imported)."""
    import importlib
    import types

    if checks and all(call.startswith(f"{RUN}(") for call, _ in checks):
        return types.SimpleNamespace()
    return importlib.import_module("main")


def _check(call: str, want: str, main: object) -> tuple[bool, str, str]:
    """One call against main's namespace: whether it gives `want`, what it answered (equal
    answers, equal behaviour: select.py), and the line that says so."""
    try:
        answer = eval(call, {**vars(main), RUN: _run})
    except Exception as exc:  # noqa: BLE001 (deliberate: see below)
        # the call runs the project's code: whatever it raises fails the example, reported
        name = type(exc).__name__
        return False, f"raised {name}", f"FAIL {_shown(call)} raised {name}: {exc}; expected {want}"
    ok = _same(answer, want)
    said = "printed" if call.startswith(f"{RUN}(") else "returned"
    line = (
        f"ok   {_shown(call)} == {want}"
        if ok
        else f"FAIL {_shown(call)} {said} {answer!r}; expected {want}"
    )
    return ok, repr(answer)[:500], line


def _shown(call: str) -> str:
    """The call as the goal wrote it: `python main.py 2 3` for a command line's example."""
    if not call.startswith(f"{RUN}("):
        return call
    import shlex

    try:
        args = [ast.literal_eval(a) for a in ast.parse(call, mode="eval").body.args]
    except (ValueError, SyntaxError, AttributeError):
        return call
    return shlex.join(["python", "main.py", *map(str, args)])


def run_examples(checks: list[list[str]], token: str) -> int:
    """Import main, evaluate each call, compare with what the goal says it gives."""
    try:
        main = _main_for(checks)
    except BaseException as exc:  # noqa: BLE001 (its import failing is the program's answer)
        # one line, no traceback: a traceback names this machine's paths, and reaches the prompt
        print(f"FAIL main.py did not import: {type(exc).__name__}: {exc}", flush=True)
        _report({"exit": 1, "results": [False] * len(checks), "got": []}, token)
        return 1
    done = []
    for call, want in checks:  # each line as it comes: a call that hangs leaves the earlier ones
        done.append(_check(call, want, main))
        print(done[-1][2], flush=True)
    results = [ok for ok, _, _ in done]
    code = 0 if all(results) else 1
    _report({"exit": code, "results": results, "got": [got for _, got, _ in done]}, token)
    return code


def _answers(checks: list[list[str]], main: object) -> tuple[int, list[str]]:
    """How many checks a module answers right, and what it answered to each."""
    done = [_check(call, want, main) for call, want in checks]
    return sum(ok for ok, _, _ in done), [got for _, got, _ in done]


def _screen_one(folder: str, checks: list[list[str]], probes: list[str], out: int) -> None:
    """In a forked child: import (or run) one candidate's main.py and write what it did to `out`,
    a JSON line after the examples and another after the probes (a probe that hangs or kills the
    child leaves the examples' line)."""
    import runpy
    import tempfile

    os.setsid()  # a group of its own: killing "its group" does not end the screen
    os.chdir(folder)
    sys.path.append(os.getcwd())
    sys.argv = ["main.py"]  # as `python main.py` would see it
    sys.stdin = open(os.devnull)  # noqa: SIM115 (the child's whole life)
    captured = tempfile.TemporaryFile(dir=os.environ.get("HOME"))  # noqa: SIM115
    os.dup2(captured.fileno(), 1)
    os.dup2(captured.fileno(), 2)
    sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115 (a real file)
    result: dict = {"ok": False, "right": 0, "got": [], "probes": [], "output": ""}

    def send() -> None:
        os.write(out, (json.dumps(result) + "\n").encode())

    try:
        if checks:
            main = _main_for(checks)
            result["right"], result["got"] = _answers(checks, main)
            result["ok"] = True
            send()
            result["probes"] = _answers([[call, ""] for call in probes], main)[1]
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
    return {"ok": False, "right": 0, "got": [], "output": ""}


def run_screen(job: dict, token: str) -> int:
    """Each candidate folder's main.py in a fork of its own, one after another, each stopped at
    `timeout` seconds with everything it started: the examples' answers (and the probes'), or
    main.py's output when there are no examples. A ranking only (a candidate could lie about
    itself here): the chosen one is tried in full."""
    import select
    import signal
    import time

    results = []
    for folder in job["folders"]:
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            _screen_one(folder, job["checks"], job.get("probes", []), write)
        os.close(write)
        data, deadline = b"", time.monotonic() + job["timeout"]
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([read], [], [], left)[0]:
                break
            chunk = os.read(read, 1 << 16)
            if not chunk:
                break
            data += chunk
        os.close(read)
        for kill in (os.killpg, os.kill):  # its group (what it started), then itself
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        with contextlib.suppress(ChildProcessError):  # orphans left to this process (PID 1)
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        results.append(_last_line(data))
    _report({"exit": 0, "results": results}, token)
    return 0


def main(argv: list[str]) -> int:
    token = sys.stdin.readline().strip()  # before anything of the project is imported
    rest = sys.stdin.read()
    _isolate()
    if argv[:1] == ["pytest"]:
        return run_pytest(argv[1:], token)
    if argv[:1] == ["examples"]:
        return run_examples(json.loads(rest), token)
    if argv[:1] == ["screen"]:
        return run_screen(json.loads(rest), token)
    print(
        "usage: python -I _tool.py pytest ARG... | examples < CHECKS_JSON | screen < SCREEN_JSON",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
