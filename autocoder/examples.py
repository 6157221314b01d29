"""The goal's own examples, run as checks.

A goal often shows what the program must answer: `>>> add(2, 3)` then `5` (doctest), or
`add(2, 3) == 5`, `add(2, 3) ➞ 5`, `add(2, 3) # returns 5`, each on its own line. Each such line
becomes a check: the call is evaluated in main.py's namespace, in the sandbox, and compared with
the expected value. They are facts the model was given, so they judge candidates better than the
tests a small model writes for itself, and a failing one tells the model exactly what to fix.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import sandbox
from .state import ProcResult

LIMIT = 20  # examples kept from one goal
TIMEOUT = 10.0
_LINE = re.compile(
    r"^\s*(?:>>>\s*)?(?P<call>[A-Za-z_][\w.]*\(.*\))\s*"
    r"(?:==>|==|➞|=>|->|→|=|#\s*(?:returns?|=>|->)|should (?:return|be))\s*(?P<want>.+?)\s*$"
)


@dataclass(frozen=True)
class Example:
    call: str  # a Python expression calling the program's code
    want: str  # what it must give: a literal, or else the repr doctest would print


def extract(goal: str) -> tuple[Example, ...]:
    """Doctest examples (`>>> call` and the lines after it), then `call <arrow> literal` lines."""
    found: list[Example] = []
    lines = goal.splitlines()
    for i, line in enumerate(lines):
        if (at := line.find(">>> ")) >= 0 and not line[:at].strip():
            want = []
            for after in lines[i + 1 :]:
                text = after.strip()
                if (
                    not text
                    or text.startswith(">>>")
                    or text in ('"""', "'''")
                    or len(after) - len(after.lstrip()) < at
                ):
                    break
                want.append(text)
            if len(want) == 1:
                found.append(Example(line[at + 4 :].strip(), want[0]))
        elif (
            (match := _LINE.match(line))
            and literal(want := match["want"].rstrip(".,;"))
            and _well_formed(Example(match["call"], want))
        ):
            found.append(Example(match["call"], want))
        else:
            found += _inline(line)
    kept = [_plain(e) for e in dict.fromkeys(found) if _well_formed(e)]
    names = _defined(given(goal))
    # the goal gives code: an example calling what it does not define is a typo
    if names is not None:
        kept = [e for e in kept if free_names(e.call) <= names]
    return tuple(dict.fromkeys(kept))[:LIMIT]


def free_names(call: str) -> set[str]:
    """The names a call needs from the program (builtins aside): {"add", "x"} for
    `add(len(x), 1)`."""
    names = {n.id for n in ast.walk(ast.parse(call, mode="eval")) if isinstance(n, ast.Name)}
    return names - set(dir(builtins))


def _defined(code: str) -> set[str] | None:
    """The names code defines at top level (functions, classes, imports, assignments); None
    when there is no code or it does not parse."""
    if not code:
        return None
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


_CALL = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")
_INLINE_ARROW = re.compile(r"\s*(?:==>|==|➞|=>|->|→|should (?:return|be)|returns?)\s*")
_END = re.compile(r"[,;.]|\s+(?:and|or)\b|$")


def _inline(line: str) -> list[Example]:
    """Examples inside a sentence: `... is_even(4) == True, is_even(7) == False.` Each call is
    followed by an arrow and a literal; the literal is the longest text up to a comma, semicolon,
    full stop or "and" that is one (so `[1, 2]` keeps its comma). Bare `=` is prose here."""
    found = []
    for start in _CALL.finditer(line):
        end = _closing(line, start.end() - 1)
        arrow = _INLINE_ARROW.match(line, end) if end else None
        if arrow is None:
            continue
        rest = line[arrow.end() :]
        cuts = sorted({m.start() for m in _END.finditer(rest)}, reverse=True)
        want = next((text for c in cuts if (text := rest[:c].strip()) and literal(text)), "")
        if want.endswith(".") and literal(want[:-1]):
            want = want[:-1]  # the sentence's full stop
        if want:
            found.append(Example(line[start.start() : end], want))
    return found


def _closing(text: str, opened: int) -> int | None:
    """The index after the bracket that closes the one at `opened`, outside string literals."""
    depth, quote = 0, ""
    for i in range(opened, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return None


_CODE_BLOCK = re.compile(r"```(?:python|py)?\n(.*?)```", re.DOTALL)


def given(goal: str) -> str:
    """The first fenced Python block of the goal that defines something to complete, else ""."""
    for block in _CODE_BLOCK.findall(goal):
        code = block.strip("\n").rstrip()
        if re.search(r"^\s*(def|class) ", code, re.MULTILINE):
            return code
    return ""


def skeleton(goal: str) -> str:
    """`given`, and when its last function has no body yet (a signature and docstring), a new
    line indented for that body, so that what follows is the body."""
    code = given(goal)
    try:
        last = ast.parse(code).body[-1] if code else None
    except (SyntaxError, IndexError):
        return code
    if isinstance(last, (ast.FunctionDef, ast.AsyncFunctionDef)) and _docstring_only(last):
        return code + "\n" + " " * (last.body[0].col_offset)
    return code


def _docstring_only(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return (
        len(fn.body) == 1
        and isinstance(fn.body[0], ast.Expr)
        and isinstance(fn.body[0].value, ast.Constant)
    )


def literal(text: str) -> bool:
    """Whether `text` is a Python literal (what an example's answer must be to be compared)."""
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False
    return True


def _well_formed(example: Example) -> bool:
    """A single call expression, and something to compare with."""
    try:
        call = ast.parse(example.call, mode="eval").body
    except SyntaxError:
        return False
    return isinstance(call, ast.Call) and bool(example.want) and "\n" not in example.want


def _plain(example: Example) -> Example:
    """The call (and a literal answer) as code alone: a trailing comment (`f(2)  # f(x) = 1 + 2x`)
    would swallow whatever is written after it on the same line, e.g. the bracket of
    `print(...)`."""
    want = (
        ast.unparse(ast.parse(example.want, mode="eval")) if literal(example.want) else example.want
    )
    return Example(ast.unparse(ast.parse(example.call, mode="eval")), want)


def check(
    root: Path, examples: tuple[Example, ...], *, policy: sandbox.Policy = sandbox.SAFE
) -> ProcResult | None:
    """Run the examples against the project's main.py; None when there are none or no main.py."""
    if not examples or not (Path(root) / "main.py").is_file():
        return None
    payload = json.dumps([[e.call, e.want] for e in examples])
    # see _tool.run_examples
    return sandbox.tool(["examples"], Path(root), TIMEOUT, stdin=payload, policy=policy)
