"""The bench's judge: the goal's hidden acceptance tests against what the agent produced, with no
code of the project in the process that runs them.

Two sandboxed runs joined by a socket pair. The tests run with pytest (`_tool.py judge`) in a
folder holding only the acceptance files and a proxy `main` (_proxy.py, told main.py's public
names, read from its syntax tree: never run here). The project runs in a copy of its own
(`_serve.py`); it imports main.py at the first call, after the tests are collected. Every call,
attribute, comparison, `len`, `in`... goes there and comes back as plain data, so a value whose
`__eq__` always says yes, an int subclass, a patched builtin or a project `__init__.py` or
conftest changes no verdict. A test that runs `python main.py` gets the project's main.py from a
copy in `.project/` beside the tests (the proxy, run as a script, hands over to it): that program
runs in the tests' sandbox but in a process of its own, which cannot read the tests' process (not
dumpable) and is killed before the report is written.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

from .. import sandbox
from ..project.observe import PYTEST_ARGS
from ..project.workspace import Workspace
from .goal import Goal

JUDGE_TIMEOUT = 120.0
HERE = Path(__file__).resolve().parent.parent / "sandbox"  # the programs that run inside one
PROXY, SERVE, CODEC = (HERE / n for n in ("_proxy.py", "_serve.py", "_codec.py"))
MAIN_LIMIT = 2_000_000  # characters of main.py read for its names
BUILTINS = frozenset(dir(builtins))


def public_names(source: str) -> list[str]:
    """What `from main import *` binds, from main.py's syntax tree: its `__all__` when that is a
    literal, else its public top-level names; never names pytest would collect as tests."""
    try:
        tree = ast.parse(source[:MAIN_LIMIT])
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names += [(a.asname or a.name).split(".")[0] for a in node.names if a.name != "*"]
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names += [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, (ast.List, ast.Tuple))
            and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.value.elts
            )
        ):
            names = [e.value for e in node.value.elts]
    # never a builtin's name: a main.py defining `range` or `abs` would replace it in the tests
    public = (
        n
        for n in names
        if n.isidentifier() and not n.startswith(("_", "test", "Test")) and n not in BUILTINS
    )
    return list(dict.fromkeys(public))


def proxy_source(names: list[str], fd: int) -> str:
    """_proxy.py with its CONFIG filled in."""
    config = {"codec": str(CODEC), "fd": fd, "names": names}
    text = PROXY.read_text(encoding="utf-8")
    return text.replace("CONFIG: dict = {}", f"CONFIG: dict = {json.dumps(config)}", 1)


def _wait_until_serving(ours: socket.socket, server: threading.Thread) -> None:
    """Until the server says READY, or its run has ended (it never started, or died first)."""
    ours.settimeout(0.2)
    deadline = time.monotonic() + JUDGE_TIMEOUT
    try:
        while server.is_alive() and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                ours.recv(1)
                return
    except OSError:
        return
    finally:
        ours.settimeout(None)


def judge(project: Path, goal: Goal, policy: sandbox.Sandbox) -> tuple[bool, float, str]:
    """Run the goal's acceptance tests against the project, each in a sandbox of its own: pass,
    seconds, and the output's tail when it failed. The agent's folder never holds the tests."""
    start = time.monotonic()
    if not (project / "main.py").is_file():
        return False, 0.0, "no main.py"
    with sandbox.scratch("judge") as tmp:
        copy = Workspace(project).copy_to(tmp / "project")
        folder = tmp / "judge"
        shutil.copytree(copy.root, folder / ".project", symlinks=True)
        for name, data in goal.files.items():
            if name != "main.py":
                (folder / name).write_bytes(data)
        source = (copy.root / "main.py").read_text(encoding="utf-8", errors="replace")
        tests = [f"./{n}" for n in goal.files if n.endswith(".py") and n != "conftest.py"]
        ours, theirs = socket.socketpair()
        with ours, theirs:
            (folder / "main.py").write_text(proxy_source(public_names(source), ours.fileno()))
            server = threading.Thread(
                target=sandbox.run,
                args=([sys.executable, "-I", str(SERVE), str(theirs.fileno())], copy.root),
                kwargs={"timeout": JUDGE_TIMEOUT, "policy": policy, "pass_fds": (theirs.fileno(),)},
                daemon=True,
            )
            server.start()
            # Once the server holds its end, ours goes: a project that ends the server (exits
            # at import) hangs up on the proxy at once instead of at the judge's time limit.
            _wait_until_serving(ours, server)
            theirs.close()
            result = sandbox.tool(
                ["judge", *PYTEST_ARGS, "--tb=line", *tests],
                folder,
                JUDGE_TIMEOUT,
                stdin=json.dumps({"confined": bool(policy.kind())}),
                policy=policy,
                pass_fds=(ours.fileno(),),
            )
            ours.shutdown(socket.SHUT_RDWR)  # the server reads its end of file and ends
            server.join(timeout=JUDGE_TIMEOUT)
    tail = "" if result.ok else sandbox.cap(result.output, 600)
    return result.ok, time.monotonic() - start, tail


def judge_main(main: str, goal: Goal, policy: sandbox.Sandbox) -> bool:
    """Whether a candidate's main.py, alone in a project, passes the goal's acceptance tests
    (`judge`): how benchmarks/ replays a run's recorded candidates."""
    with sandbox.scratch("candidate") as tmp:
        (tmp / "main.py").write_text(main, encoding="utf-8")
        return judge(tmp, goal, policy)[0]
