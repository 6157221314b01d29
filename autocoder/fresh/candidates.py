"""Candidate programs for a fresh start, in the prompt shape a model is best at.

A small model writes better code as one plain chat turn with the code in a fenced block ("Complete
this Python function..." for a goal that gives code, "Reply with the complete main.py..." for one
that does not) than through the agent's action format. Each reply's code becomes a main.py the
checks accept (the goal's imports, code inside functions, a main() and its guard); the goal's
examples become its first tests. Selection among the candidates is `select.py`'s.
"""

from __future__ import annotations

import ast
import re

from ..goal import RUN, Example, command, free_names
from ..goal.code import literal
from ..goal.ending import over
from ..project.lint import add_main_guard, is_definition

ASK = "\n\nReply with the complete main.py in a ```python block."
COMPLETE = (
    "Complete this Python function. Reply with the complete function in a ```python block.\n\n"
    "{said}```python\n{code}\n```"
)
# Candidates after the first (which is greedy): warm enough to differ, cool enough to stay right
# (how it was chosen: docs/how-a-run-works.md).
SAMPLE_TEMPERATURE = 0.4
_FENCED = re.compile(r"```(?:python)?\n(.*?)```", re.DOTALL)  # as the plain baseline reads it
# A candidate's reply ends at its closing fence: the prose a small model adds after the code is
# time that buys nothing.
STOP = ("\n```\n",)
_OPENED = re.compile(r"```(?:python)?\n(.*)", re.DOTALL)


def ask(goal: str, given: str, said: str = "") -> list[dict[str, str]]:
    """The plain chat turn: complete the code the goal gives (`said`: what is said of it before
    the code, its function's docstring), else write main.py for the goal."""
    said = f"{said}\n\n" if said else ""
    text = COMPLETE.format(code=given.rstrip("\n"), said=said) if given else goal + ASK
    return [{"role": "user", "content": text}]


def extract(reply: str) -> str:
    """The code of a reply: its first fenced block, else the whole reply (the plain baseline's
    rule, byte for byte)."""
    found = _FENCED.findall(reply)
    return found[0] if found else reply


def code(reply: str, function: tuple[str, ...] = ()) -> str:
    """A candidate's code: as `extract`, and when the reply stopped at its closing fence (STOP,
    not part of the reply) what follows the opening fence; given `function` (Settings), the
    reply only up to where goal.ending.over says it is over, whichever provider wrote it."""
    at = over(reply, function[0], function[1:]) if function else None
    reply = reply[:at]
    if _FENCED.search(reply):
        return extract(reply)
    opened = _OPENED.search(reply)
    return opened.group(1) if opened else reply


def _imports(code: str) -> list[str]:
    return [line for line in code.splitlines() if line.startswith(("import ", "from "))]


def _main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "__name__" in ast.unparse(node.test)


def normalize(
    code: str, given: str, examples: tuple[Example, ...], calls: tuple[str, ...] = ()
) -> str:
    """A main.py made of the candidate's code: the given code's imports it lacks first, then the
    given code's finished helpers it calls but lacks; statements
    outside functions (a demo call, a loop) become main()'s body when it has no main(), and are
    dropped when it has one; with neither, main() prints the first example's call, else (the goal
    states none) the first of `calls` (the goal's function called with values its signature
    suggests: probes.shown) whose function the candidate defines, else the result of the
    candidate's own function that needs no arguments. Nothing is invented beyond that: a
    candidate with no way to run stays without main() (the checks say so, and it ranks lower).
    Code that does not parse is returned as it is: the checks will say what is wrong."""
    missing = [line for line in _imports(given) if line not in code]
    code = "\n".join([*missing, code]) if missing else code
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    helpers = _helpers(given, tree)
    tree.body[len(missing) : len(missing)] = helpers
    kept, loose = [], []
    for node in tree.body:
        (kept if is_definition(node) else loose).append(node)
    has_main = any(isinstance(n, ast.FunctionDef) and n.name == "main" for n in kept)
    body = [n for n in loose if not _main_guard(n)]
    if not has_main:
        if not body:
            said = [e.call for e in examples if not command(e)]  # main() never runs main.py
            defined = {n.name for n in kept if isinstance(n, ast.FunctionDef)}
            own = [c for c in calls if c.split("(", 1)[0] in defined]
            call = (said or own or [_no_argument_call(kept)])[0]
            if not call:
                return ast.unparse(tree) + "\n" if helpers else code
            body = ast.parse(f"print({call})").body
        kept.append(
            ast.FunctionDef(
                name="main",
                args=ast.arguments([], [], None, [], [], None, []),
                body=body,
                decorator_list=[],
                returns=None,
                type_params=[],
                lineno=0,
            )
        )
    module = ast.fix_missing_locations(ast.Module(body=kept, type_ignores=[]))
    return add_main_guard(ast.unparse(module) + "\n")


def _helpers(given: str, tree: ast.Module) -> list[ast.stmt]:
    """The given code's finished functions (a body beyond a docstring) that the candidate calls
    but does not define: a reply completing one function often leaves out the helpers shown."""
    try:
        shown = ast.parse(given).body if given else []
    except SyntaxError:
        return []
    defined = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    finished = {
        n.name: n
        for n in shown
        if isinstance(n, ast.FunctionDef)
        and n.name not in defined
        and not (len(n.body) == 1 and isinstance(n.body[0], ast.Expr))
    }
    added: dict[str, ast.stmt] = {}
    todo = [tree]
    while todo:  # a helper may call another helper
        used = {n.id for n in ast.walk(todo.pop()) if isinstance(n, ast.Name)}
        for name in sorted(used & finished.keys() - added.keys()):
            added[name] = finished[name]
            todo.append(finished[name])
    return [n for n in shown if n in added.values()]


def _no_argument_call(nodes: list[ast.stmt]) -> str:
    """A call of the last function defined that needs no arguments, e.g. `fibonacci()`."""
    for node in reversed(nodes):
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            a = node.args
            if len(a.defaults) == len(a.posonlyargs) + len(a.args) and None not in a.kw_defaults:
                return f"{node.name}()"
    return ""


def first_tests(examples: tuple[Example, ...]) -> str:
    """The goal's examples as tests when it has some with literal answers, else a smoke test."""
    return example_tests(examples) if any(literal(e.want) for e in examples) else SMOKE_TEST


def example_tests(examples: tuple[Example, ...]) -> str:
    """main_test.py from the goal's examples: facts the goal states, so they are right by
    definition."""
    kept = [e for e in examples if literal(e.want)]
    names = sorted(set().union(*(free_names(e.call) for e in kept)))
    commands = [command(e) for e in kept]
    lines = []
    if not all(commands):  # a command line tool is run, never imported
        lines += [f"from main import {', '.join(names)}" if names else "import main", "", ""]
    if any(commands):
        lines += [COMMAND_TESTS.rstrip("\n"), "", ""]
    for n, e in enumerate(kept):
        lines += [f"def test_example_{n}():", f"    assert ({e.call}) == ({e.want})", "", ""]
    return "\n".join(lines).rstrip("\n") + "\n"


# how the tests run main.py as a command, for goal.RUN's calls
COMMAND_TESTS = f"""import subprocess
import sys


def {RUN}(*args):
    \"\"\"What `python main.py ARGS` prints, with nothing on stdin.\"\"\"
    done = subprocess.run(
        [sys.executable, "main.py", *map(str, args)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=10,
    )
    return done.stdout.strip()


"""

SMOKE_TEST = """import main


def test_main_runs_and_prints(capsys):
    main.main()
    assert capsys.readouterr().out.strip(), "main() printed nothing"
"""
