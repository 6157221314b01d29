"""Observe the project: compile, validate and lint every Python file, run its tests and main.py."""

from __future__ import annotations

import ast
import hashlib
import re
import sys
import zlib
from dataclasses import replace

from .. import sandbox, scrub
from .._version import __version__
from ..goal import examples
from ..goal.code import BUILTINS, anywhere, declared
from ..goal.commands import arguments
from ..state import FileReport, Observation, ProcResult, Store
from . import checks, lint
from .lint import is_definition, is_main_guard
from .packages import installed
from .workspace import Workspace

# bump when what `observe` reports changes (7: main.py run with the goal's first command line's
# arguments; 8: main.py's problem when a function the goal names is defined nowhere)
OBSERVATION_VERSION = 8
ERROR_LIMIT = 800  # characters of one file's problems kept for the prompt
TEST_TIMEOUT = 30.0
MAIN_TIMEOUT = 10.0
_TODO = re.compile(r"#\s*(TODO|FIXME)\b|\bTODO\b", re.IGNORECASE)


# The project's pytest configuration, conftest.py and rootdir are never used: they could change the
# verdict (see _tool.py for the rest). Test files go as ./NAME so that no name reads as an option.
PYTEST_ARGS = (
    "-q",
    "--no-header",
    "-p",
    "no:cacheprovider",
    "-c",
    "/dev/null",
    "--rootdir",
    ".",
    "--import-mode=append",
)
PYTEST_TIME = re.compile(r" in \d+\.\d+s(?: \(\d+:\d+:\d+\))?")


def is_test_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.endswith("_test.py") or name.startswith("test_")


def validate(path: str, code: str) -> str:
    """The seed's checks: compiles, not empty, no TODO or `...` placeholder, code inside
    functions."""
    if not code.strip():
        return "the file is empty"
    try:
        tree = ast.parse(code, filename=path)
        compile(tree, path, "exec")
    except SyntaxError as exc:
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    problems = []
    if _TODO.search(code):
        problems.append("contains a TODO: write the real code")
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and node.value.value is Ellipsis
        ):
            problems.append(f"line {node.lineno}: `...` placeholder: write the real code")
        elif isinstance(node, ast.Pass) and not is_test_file(path):
            problems.append(f"line {node.lineno}: `pass` placeholder: write the real code")
    for node in tree.body:
        if not _allowed_top_level(node):
            problems.append(
                f"line {node.lineno}: code must live in functions (move it into main())"
            )
    if is_test_file(path):
        tests = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef) and n.name.startswith("test")
        ]
        if not tests:
            problems.append(
                "no test functions: add pytest tests named test_... that assert results"
            )
        for t in tests:
            if not any(
                isinstance(n, ast.Assert) or "raises" in ast.unparse(n) for n in ast.walk(t)
            ):
                problems.append(
                    f"line {t.lineno}: {t.name} checks nothing: assert the result it expects"
                )
    if path == "main.py":
        names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        if "main" not in names:
            problems.append("main.py needs a main() function")
        if not any(is_main_guard(n) for n in tree.body):
            problems.append('main.py must call main() under `if __name__ == "__main__":`')
    return "\n".join(dict.fromkeys(problems))


def unnamed(code: str, names: frozenset[str], others: tuple[str, ...] = ()) -> str:
    """main.py's problem when neither it nor the project's `others` (its other files' code)
    defines a function the goal names (at any depth: a class's method counts, and so does an
    import), builtins aside; "" otherwise. A small model rewriting main.py into the prompt's
    worked example left a project of `squares(n)` for a goal naming `caesar(text, shift)`, and
    judged it done; one defining `encrypt` for a goal naming `encrypt` and `decrypt` was judged
    done too."""
    wanted = set(names - BUILTINS)
    for text in (code, *others):
        if not wanted:
            return ""
        found = anywhere(text)
        found = declared(text) if found is None else found
        if "*" in found:  # `from ops import *` may define them
            return ""
        wanted -= found
    if not wanted:
        return ""
    said = ", ".join(f"{n}()" for n in sorted(wanted))
    return f"main.py does not define {said}, which the goal names: write it in main.py"


def _allowed_top_level(node: ast.stmt) -> bool:
    return is_definition(node) or is_main_guard(node)


def observe(
    ws: Workspace,
    goal_examples: tuple[examples.Example, ...] = (),
    *,
    policy: sandbox.Sandbox,
    names: frozenset[str] = frozenset(),
) -> Observation:
    """Take stock of the project; runs its code only through the sandbox, as `policy` says.
    `names`: the functions the goal names, each of which the project must define (`unnamed`)."""
    files = ws.files()
    py = [f for f in files if f.endswith(".py")]
    problems = lint.check(ws.root, py)
    reports = []
    codes = {path: ws.read(path) for path in py}
    others = tuple(c for p, c in codes.items() if p != "main.py" and not is_test_file(p))
    for path, code in codes.items():
        error = validate(path, code)
        if not error and path in problems:
            error = "\n".join(problems[path])
        if path == "main.py" and (lost := unnamed(code, names, others)):
            error = f"{error}\n{lost}" if error else lost
        reports.append(FileReport(path, code, sandbox.cap(error, ERROR_LIMIT)))
    tests = [f for f in py if is_test_file(f)]
    test_result = None
    if tests:
        test_result = sandbox.tool(
            [
                "pytest",
                *PYTEST_ARGS,
                "-x",
                "--tb=short",
                "--noconftest",
                *(f"./{t}" for t in tests),
            ],
            ws.root,
            TEST_TIMEOUT,
            policy=policy,
        )
        # pytest's timing ("1 passed in 0.16s") differs run to run: drop it, so the same project
        # gets the same prompt and a rerun is answered by the response cache
        test_result = replace(test_result, output=PYTEST_TIME.sub("", test_result.output))
    main = checked = None
    args = arguments(goal_examples) or ()
    if "main.py" in files:  # the goal's examples first: a tool that keeps state sees them first
        checked = checks.check(ws.root, goal_examples, policy=policy)
        main = sandbox.python(["main.py", *args], ws.root, MAIN_TIMEOUT, policy=policy)
    obs = Observation(tuple(files), tuple(reports), test_result, main, checked, args)
    return scrubbed(obs, ws)


def scrubbed(obs: Observation, ws: Workspace) -> Observation:
    """`obs` with what its programs printed and its problems free of secrets and of this
    machine's places in any spelling (the sandbox replaced only the plain ones): the prompt, the
    trajectory and the cache all read it from here. The files' own text stays as written."""
    clean = scrub.for_project(ws.root).text

    def output(result: ProcResult | None) -> ProcResult | None:
        return None if result is None else replace(result, output=clean(result.output))

    reports = tuple(replace(f, error=clean(f.error)) if f.error else f for f in obs.python)
    return replace(
        obs,
        python=reports,
        tests=output(obs.tests),
        main=output(obs.main),
        examples=output(obs.examples),
    )


def observe_cached(
    ws: Workspace,
    store: Store | None,
    goal_examples: tuple[examples.Example, ...] = (),
    *,
    policy: sandbox.Sandbox,
    names: frozenset[str] = frozenset(),
) -> Observation:
    """`observe`, answered from the response cache's store when exactly these files (every byte)
    were observed before and running them created no file: the project's programs see nothing
    but its files (the sandbox), so the answer is the same, and a cached rerun replays exactly."""
    if store is None:
        return observe(ws, goal_examples, policy=policy, names=names)
    before = ws.fingerprint()
    dists = hashlib.sha256("\n".join(installed(ws.root)).encode()).hexdigest()[:16]  # its .venv
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    checks = hashlib.sha256(repr((goal_examples, sorted(names))).encode()).hexdigest()[:16]
    key = f"observation:{OBSERVATION_VERSION}:{__version__}:{python}:{dists}:{checks}:{before}"
    try:
        if (data := store.get(key)) is not None:
            return Observation.from_json(data)
    except (TypeError, ValueError, KeyError, zlib.error):  # a corrupt entry is a miss
        store.delete(key)
    obs = observe(ws, goal_examples, policy=policy, names=names)
    if ws.fingerprint() == before:  # a program that writes files runs every time: that is the point
        store.set(key, obs.to_json())
    return obs
