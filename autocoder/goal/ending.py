"""Where a reply completing the goal's function is over.

A small model asked to complete a function writes it, then goes on: a demo (`print(f(3))`), a
main() and its guard, asserts, functions nobody calls. None of it is what the goal asks (a
candidate's main() calls the goal's first example where the reply gives none: candidates.normalize;
a demo that crashed failed a right function), and each token of it costs as much as one of the
function's. A reply is over at the first top-level line after the function where the code
before that line parses, defines the function, and everything the function needs: the names it
(and the functions it calls, in turn) reads are defined there, imported, built in, or `known`
(what the program gets without the reply: the given code's imports). Blank and comment lines
decide nothing.

A line that sets up what the function reads (`memo[0] = 0`, naming it) is needed too. A whole line
decides by itself and the code before it, so `over` of a reply stopped there is `over` of the reply
written on: a local model, given the reply up to its last whole line, stops writing at that point
(providers/batch.py), and every reply, any provider's, is cut there by the same rule
(fresh/candidates.code).
"""

from __future__ import annotations

import ast
import builtins
import functools
import re

from . import Example, command
from .code import completed, imported

_OPENED = re.compile(r"```(?:python|py)?\n")
_HAVE = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__"}


def function(given: str, examples: tuple[Example, ...]) -> tuple[str, ...]:
    """(name, *have) for Settings.function: the function the given code leaves to complete and
    `known(given)`; () where the goal gives none, or states a command to run (its program may
    be all top-level lines)."""
    target = completed(given)
    if not target or any(command(e) for e in examples):
        return ()
    return (*target, *known(given))


def known(given: str) -> tuple[str, ...]:
    """The names a program completing `given` has without writing them: its imports, which a
    candidate's main.py gets when it lacks them. Not its functions: a reply may write its own
    version of one after the function it completes (another signature, or a stub's body)."""
    try:
        body = ast.parse(given).body if given else []
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    imports = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
    return tuple(dict.fromkeys(name for node in imports for name in imported(node)))


def over(reply: str, function: str, have: tuple[str, ...] = ()) -> int | None:
    """The index in `reply` where it is over (the start of the first top-level line it does not
    need once `function` is written), else None. Lines count from the reply's first code fence
    (none: from its start); a line decides by itself and the code before it."""
    fence = _OPENED.search(reply)
    start = fence.end() if fence else 0
    if not re.search(rf"^(async\s+)?def\s+{re.escape(function)}\b", reply[start:], re.MULTILINE):
        return None  # not written yet: nothing to parse
    at = start
    while at < len(reply):
        end = reply.find("\n", at)
        line = reply[at : len(reply) if end < 0 else end]
        if at > start and line[:1] not in ("", " ", "\t", "\r", "#"):
            reads = _complete(reply[start:at], function, have)
            # a line that sets up what the function reads (`memo[0] = 0`) is needed too
            if reads is not None and not reads & set(re.findall(r"[A-Za-z_]\w*", line)):
                return at
        if end < 0:
            return None
        at = end + 1
    return None


@functools.lru_cache(maxsize=1024)
def _complete(code: str, function: str, have: tuple[str, ...]) -> frozenset[str] | None:
    """When `code` parses, defines `function` at top level and all it needs: the top-level
    names other than functions that it (and the functions it calls) reads; else None. Cached: a
    reply being written asks again of the same code at each new line."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    functions = {
        n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
    }
    if function not in functions:
        return None
    bound = _bound(tree.body) | set(have) | _HAVE
    todo, seen, reads = [function], set(), set()
    while todo:
        name = todo.pop()
        seen.add(name)
        for free in _reads(functions[name]):
            if free in functions:
                if free not in seen:
                    todo.append(free)
            elif free not in bound:
                return None  # defined later, if ever: the reply is not over
            else:
                reads.add(free)
    return frozenset(reads - _HAVE)


def _bound(body: list[ast.stmt]) -> set[str]:
    """The names top-level statements bind."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= set(imported(node))
        else:
            names |= {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and _stored(n)}
    return names


def _stored(name: ast.Name) -> bool:
    return isinstance(name.ctx, (ast.Store, ast.Del))


def _reads(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The names a function's body (its nested functions' included) reads but never binds: its
    free names, counted generously (a name bound anywhere inside is bound everywhere)."""
    inside = [n for stmt in fn.body for n in ast.walk(stmt)]
    bound = {a.arg for n in [fn, *inside] if hasattr(n, "args") for a in _args(n)}
    for n in inside:
        if isinstance(n, ast.Name) and _stored(n):
            bound.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            bound |= set(imported(n))
        elif isinstance(n, ast.ExceptHandler) and n.name:
            bound.add(n.name)
        elif isinstance(n, ast.Nonlocal):
            bound |= set(n.names)
    reads = {n.id for n in inside if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return reads - bound


def _args(node: ast.AST) -> list[ast.arg]:
    a = getattr(node, "args", None)
    if not isinstance(a, ast.arguments):
        return []
    return [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
