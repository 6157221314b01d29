"""autocoder's own checks of a project, run inside the sandbox with the project as the folder.

    python -I _tool.py pytest PYTEST_ARG...     the project's own tests
    python -I _tool.py judge PYTEST_ARG...      the bench's acceptance tests, against a proxy main
    python -I _tool.py examples < CALLS_JSON    what main.py answers to the goal's example calls
    python -I _tool.py screen < SCREEN_JSON     many candidates' main.py, each in a fork of its own

Nothing the project holds may change what these report. `-I` keeps the project's folder and every
PYTHON* variable out of the start-up, so the tools and the standard library come from autocoder's
environment; the project's folder (and its own .venv) are appended after them, so a `pytest.py`,
`json.py` or `sitecustomize.py` of the project is never the one imported. Bytecode is neither read
from nor written to the project (a planted `__pycache__` changes nothing). The report goes to
$HOME/report.json (the scratch HOME, outside the project) with the token autocoder sent on the
first line of stdin: a program that exits during the tests, prints "1 passed" or writes a report
of its own leaves no passing report behind. `examples` and `screen` never see the expected
answers: they send back what each call answered, as plain data (_codec.py), and autocoder compares
in its own process (plain.py). `judge` imports no project code at all (bench/judge.py).
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import json
import os
import signal
import sys

REPORT = "report.json"  # in the scratch HOME; sandbox.tool reads it back
RUN = "__run__"  # goal.RUN: a command line's example calls it


def sibling(name: str):
    """One of autocoder's own modules beside this file, loaded by its exact path: the autocoder
    folder is never put on sys.path (its select.py or state.py would shadow the standard
    library's)."""
    found = sys.modules.get(f"_autocoder_{name}")
    if found is None:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
        spec = importlib.util.spec_from_file_location(f"_autocoder_{name}", path)
        found = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = found
        spec.loader.exec_module(found)
    return found


def _isolate() -> None:
    sys.dont_write_bytecode = True
    # From here on bytecode is read from nowhere: not the project's __pycache__, and not a folder
    # a program can write (one run as `python main.py` by a test, or a screened rival, planted a
    # .pyc of the standard library there, and the next import ran it in the check's process).
    # What `_first` imported before came with its installation's own bytecode.
    sys.pycache_prefix = "/dev/null/pycache"
    here = os.getcwd()
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != here]
    sys.path.append(here)
    sys.path.extend(
        sorted(glob.glob(os.path.join(here, ".venv", "lib", "python*", "site-packages")))[:1]
    )


# the standard library modules the candidates of a model import most (typing: one HumanEval
# candidate in eight; compiled from source, it took about 45 ms of each candidate's screen)
COMMON = ("typing", "math", "re", "collections", "itertools", "functools")


def _first(tool: str) -> None:
    """What the tool's check needs imported before anything of the project is on sys.path, with
    the bytecode its installation compiled: pytest and its own plugins (for its checks), and the
    standard library modules programs import most. The runtime is read-only to the program
    (visible.py), so that bytecode is the installation's own; compiling pytest from source took
    about 0.6 s of every check. Whatever is imported after `_isolate` still reads no bytecode at
    all."""
    sys.dont_write_bytecode = True
    if tool in ("pytest", "judge"):
        import pytest  # noqa: F401
        from _pytest.config import default_plugins

        for name in default_plugins:
            with contextlib.suppress(ImportError):
                importlib.import_module(f"_pytest.{name}")
    for name in COMMON:
        importlib.import_module(name)


def report(data: dict, token: str) -> None:
    """Write (or rewrite: results stream) the check's report, with the token."""
    home = os.environ["HOME"]
    with contextlib.suppress(OSError):  # a program may have made it read-only: it is ours
        os.chmod(home, 0o700)
    path = os.path.join(home, REPORT)
    if os.path.lexists(path):  # whatever the program left there (a file, a link, a FIFO) goes
        os.unlink(path)
    with open(path, "x", encoding="utf-8") as fh:
        json.dump({**data, "token": token}, fh)


def _private() -> None:
    """No other process of the sandbox may read this one's memory or descriptors (the token, the
    socket to the project): not dumpable, so /proc/PID/mem and ptrace need a capability."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return 0 if fields[0] == "Z" else int(fields[1])


def sweep() -> None:
    """Kill every process of the sandbox but this one and its ancestors (the sandbox has a PID
    namespace of its own: /proc shows only its processes), whatever session it started."""
    keep, pid = {os.getpid()}, os.getpid()
    with contextlib.suppress(OSError, ValueError, IndexError):
        while pid > 1:
            pid = _ppid(pid)
            keep.add(pid)
    for _ in range(50):  # a process forking while we look is caught on a later pass
        alive = []
        for name in os.listdir("/proc"):
            if name.isdigit() and int(name) not in keep:
                with contextlib.suppress(OSError, ValueError, IndexError):
                    if _ppid(int(name)):  # a zombie waits for its reaper, harmless
                        os.kill(int(name), signal.SIGKILL)
                        alive.append(name)
        with contextlib.suppress(ChildProcessError):  # orphans left to this process (PID 1)
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        if not alive:
            return


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


def run_pytest(args: list[str], token: str, judge: dict | None = None) -> int:
    """pytest on ARGS; with `judge`, the acceptance tests against the proxy main (bench/judge.py):
    the proxy is imported first, and the folder leaves sys.path once the tests are collected,
    so nothing a program run by the tests writes there is ever imported."""
    import pytest

    count, plugins = _Count(), []
    if judge is not None:
        _private()
        here = os.getcwd()
        spec = importlib.util.spec_from_file_location("main", os.path.join(here, "main.py"))
        sys.modules["main"] = proxy = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(proxy)

        class Seal:
            def pytest_collection_finish(self, session) -> None:
                sys.path[:] = [
                    p for p in sys.path if not os.path.abspath(p or ".").startswith(here)
                ]

        plugins.append(Seal())
    code = int(pytest.main(args, plugins=[count, *plugins]))
    if judge is not None and judge.get("confined"):
        sweep()  # a program the tests started is gone before the report is written
    report({"exit": code, "passed": count.passed, "failed": count.failed}, token)
    return code


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


def main_for(calls: list[str]) -> object:
    """main imported, unless every call runs it as a command (a command line tool may read its
    arguments, or exit, as it is imported)."""
    import types

    if calls and all(call.startswith(f"{RUN}(") for call in calls):
        return types.SimpleNamespace()
    return importlib.import_module("main")


def answer(call: str, main: object) -> dict:
    """One call against main's namespace: what it answered, as plain data ({"value": ...}), or
    the exception it raised ({"raised": [name, message]})."""
    codec = sibling("_codec")
    try:
        got = eval(call, {**vars(main), RUN: _run})
        return {"value": codec.encode(got)}
    except BaseException as exc:  # whatever the project raises is its answer
        if isinstance(exc, KeyboardInterrupt):
            raise
        try:
            text = str(exc)[:300]
        except BaseException:  # noqa: BLE001 (its __str__ is the project's code too)
            text = ""
        return {"raised": [type(exc).__name__[:100], text]}


def run_examples(calls: list[str], token: str) -> int:
    """Import main, answer each call, report each answer as it comes (a call that hangs leaves the
    earlier ones); the goal's expected answers never come here."""
    sibling("_codec")  # before the project: nothing of it is on sys.path yet
    try:
        main = main_for(calls)
    except BaseException as exc:  # noqa: BLE001 (its import failing is the program's answer)
        # one line, no traceback: a traceback names this machine's paths, and reaches the prompt
        print(f"FAIL main.py did not import: {type(exc).__name__}: {exc}", flush=True)
        report({"exit": 1, "imported": False, "answers": []}, token)
        return 1
    answers: list[dict] = []
    for call in calls:
        report({"exit": 1, "imported": True, "answers": answers}, token)
        answers.append(answer(call, main))
    report({"exit": 0, "imported": True, "answers": answers}, token)
    return 0


def main(argv: list[str]) -> int:
    token = sys.stdin.readline().strip()  # before anything of the project is imported
    rest = sys.stdin.read()
    _first(argv[0] if argv else "")
    _isolate()
    if argv[:1] == ["pytest"]:
        return run_pytest(argv[1:], token)
    if argv[:1] == ["judge"]:
        return run_pytest(argv[1:], token, json.loads(rest or "{}"))
    if argv[:1] == ["examples"]:
        return run_examples(json.loads(rest), token)
    if argv[:1] == ["screen"]:
        _private()  # its forks run candidates: none may read or write this process's memory
        return sibling("_screen").run_screen(json.loads(rest), token, sys.modules[__name__])
    print(
        "usage: python -I _tool.py pytest|judge ARG... | examples < CALLS | screen < SCREEN_JSON",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
