"""The goal's own examples, read from its text (project/checks.py runs them as a check).

A goal often shows what the program must answer: `>>> add(2, 3)` then `5` (doctest), or
`add(2, 3) == 5`, `add(2, 3) ➞ 5`, `add(2, 3) # returns 5`, each on its own line. Where the goal's
code leaves one function to complete, its docstring's prose forms count too: `For a = 2, b = 3 the
output should be 5`, and `Input: a = 2, b = 3` (or `[2, 3]`, or `name : value` lines) followed by
`Output: 5`; the call is made in the function's parameter order. A command line's example,
`` `python main.py 2 3` prints 5 ``, is a call of RUN (`__run__('2', '3')`: what main.py prints,
run as `python main.py 2 3` with nothing on stdin). Each such example becomes a check: the call
is evaluated in main.py's namespace, in the sandbox, and compared with the expected value. They
are facts the model was given, so they judge candidates better than the tests a small model
writes for itself, and a failing one tells the model exactly what to fix.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

from . import MAX_LINE, MAX_SCAN, Example, free_names
from .code import _docstring_only, defined, given, literal
from .commands import commands
from .inline import _inline

LIMIT = 20  # examples kept from one goal


_LINE = re.compile(
    r"^\s*(?:>>>\s*|assert\s+)?(?P<call>[A-Za-z_][\w.]*\(.*\))\s*"
    r"(?:==>|==|➞|=>|->|→|=|#\s*(?:returns?|=>|->)|should (?:return|be))\s*(?P<want>.+)$"
)  # `want` is greedy, stripped after: a lazy one before `\s*$` is quadratic in a run of spaces


def extract(goal: str) -> tuple[Example, ...]:
    """Doctest examples (`>>> call` and the lines after it), then `call <arrow> literal` lines."""
    found: list[Example] = []
    lines = [_scanned(line) for line in goal[:MAX_SCAN].splitlines()]
    for i, line in enumerate(lines):
        if (at := line.find(">>> ")) >= 0 and not line[:at].strip():
            want = _printed(lines, i + 1, at)
            arrowed = _arrowed(line[at + 4 :])  # `>>> add(2, 3) == 5`, nothing printed after
            if arrowed and not (len(want) == 1 and literal(want[0])):
                found.append(arrowed)
            elif len(want) == 1:
                found.append(Example(line[at + 4 :].strip(), want[0]))
        elif arrowed := _arrowed(line):
            found.append(arrowed)
        else:
            found += _inline(line)
    code = given(goal)
    found += _prose(lines, _to_complete(code))
    found += [e for line in lines for e in commands(line)]
    kept = [_plain(e) for e in dict.fromkeys(found) if _well_formed(e)]
    names = defined(code)
    # the goal gives code: an example calling what it does not define is a typo
    if names is not None:
        kept = [e for e in kept if free_names(e.call) <= names]
    return tuple(dict.fromkeys(kept))[:LIMIT]


def _scanned(line: str) -> str:
    """The part of a line extraction reads: all of it, or its first MAX_LINE characters cut at a
    space (never inside a number or a word, which would make another answer)."""
    if len(line) <= MAX_LINE:
        return line
    cut = line.rfind(" ", 0, MAX_LINE)
    return line[: max(0, cut)]


def _printed(lines: list[str], start: int, indent: int) -> list[str]:
    """What a doctest prints: the lines from `start` up to a blank line, the next `>>>`, the
    docstring's end or a line indented less than `indent`. Only one such line makes an example,
    so reading stops at the second."""
    want: list[str] = []
    for after in lines[start : start + 2]:
        text = after.strip()
        if (
            not text
            or text.startswith(">>>")
            or text in ('"""', "'''")
            or len(after) - len(after.lstrip()) < indent
        ):
            break
        want.append(text)
    return want


_WORDS = {"true": "True", "false": "False", "null": "None", "none": "None"}  # JSON's, prose's


def _arrowed(line: str) -> Example | None:
    """`call <arrow> answer` on a line of its own. The answer is a literal, a lower-case true,
    false or null, or worked arithmetic that ends in its own result (`19 - 5 - 6 = 8`)."""
    match = _LINE.match(line)
    if match is None:
        return None
    want = match["want"].strip().rstrip(".,;")
    want = _WORDS.get(want, want)
    if not literal(want) and "=" in want:
        worked, _, result = want.rpartition("=")
        want = result.strip() if _arithmetic(worked.rstrip("=<>!"), result) else want
    example = Example(match["call"], want)
    return example if literal(want) and _well_formed(example) else None


def _arithmetic(worked: str, result: str) -> bool:
    """Whether `worked` is arithmetic on numbers alone that comes to `result`."""
    try:
        tree = ast.parse(worked.strip(), mode="eval")
        want = ast.literal_eval(result.strip())
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.operator, ast.unaryop)
    if not all(isinstance(n, allowed) for n in ast.walk(tree)) or isinstance(want, bool):
        return False
    if any(isinstance(n, ast.Pow) for n in ast.walk(tree)):
        return False  # never a huge power
    try:
        got = eval(compile(tree, "<worked>", "eval"), {"__builtins__": {}})  # numbers only
    except (ArithmeticError, TypeError, ValueError):
        return False
    return isinstance(want, (int, float)) and got == want


@dataclass(frozen=True)
class _Function:
    name: str
    params: tuple[str, ...]


def _to_complete(code: str) -> _Function | None:
    """The function the goal's code leaves to write: the last one with only a docstring, else
    its only function."""
    try:
        tree = ast.parse(code) if code else None
    except SyntaxError:
        return None
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)] if tree else []
    open_ = [f for f in functions if _docstring_only(f)]
    chosen = open_[-1] if open_ else functions[0] if len(functions) == 1 else None
    if chosen is None or chosen.args.vararg or chosen.args.kwarg or chosen.args.kwonlyargs:
        return None
    return _Function(chosen.name, tuple(a.arg for a in chosen.args.posonlyargs + chosen.args.args))


_FOR = re.compile(
    # args end at a non-space and the spaces after them are taken whole (possessive): a run of
    # spaces is read once, not once per space
    r"^\s*(?:for|when|if)\s+(?P<args>.*?\S)[,:]?\s++(?:the\s++)?(?:output|result|answer)\s++"
    r"(?:should\s++be|will\s++be|is)\s++(?P<want>.+)$",
    re.IGNORECASE,
)


_INPUT = re.compile(r"^\s*inputs?\s*:\s*(?P<rest>.*)$", re.IGNORECASE)


_OUTPUT = re.compile(r"^\s*(?:output|returns?|result)\s*:\s*(?P<want>.*)$", re.IGNORECASE)


_NAMED = re.compile(r"^\s*(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<value>.+)$")  # `grid : [[0, 1]]`


def _prose(lines: list[str], fn: _Function | None) -> list[Example]:
    """Examples the docstring states in prose for the function to complete: `For x = 3 the output
    should be 4` and `Input: ...` / `Output: ...` blocks."""
    if fn is None:
        return []
    found = []
    for i, line in enumerate(lines):
        if match := _FOR.match(line):
            example = _example(fn, match["args"], match["want"], sentence=True)
            found += [example] if example else []
        elif match := _INPUT.match(line):
            given = [match["rest"]] if match["rest"].strip() else []
            for after in lines[i + 1 : i + 8]:
                if out := _OUTPUT.match(after):
                    example = _example(fn, ", ".join(given), out["want"], sentence=False)
                    found += [example] if example else []
                    break
                if not after.strip():
                    continue
                named = _NAMED.match(after)
                given.append(f"{named['name']} = {named['value']}" if named else after.strip())
    return found


def _example(fn: _Function, args: str, want: str, *, sentence: bool) -> Example | None:
    """The call of `fn` that `args` (`a = 2, b = [1, 2]` or `2, [1, 2]`) states, with literal
    values only, in `fn`'s parameter order, and `want` (a trailing comment or full stop aside) a
    literal. In a sentence the values are named, and prose may follow them (`For n = 3, the
    sum is 6 the output ...`): the longest leading part of `args` that is such a call."""
    want = want.split(" #", 1)[0].strip().rstrip(".,;")
    want = _WORDS.get(want, want)
    if not literal(want):
        return None
    parts = _split(args.strip().rstrip(",;"))
    # a call with more arguments than the function's parameters never fits it: not tried
    longest = min(len(parts), len(fn.params)) if sentence else len(parts)
    for end in range(longest, 0 if sentence else len(parts) - 1, -1):
        try:
            call = ast.parse(f"f({', '.join(parts[:end])})", mode="eval").body
        except SyntaxError:
            continue
        values = _ordered(call, fn, sentence) if isinstance(call, ast.Call) else None
        if values is not None:
            return Example(f"{fn.name}({', '.join(values)})", want)
    return None


def _ordered(call: ast.Call, fn: _Function, named_only: bool) -> list[str] | None:
    """The call's literal arguments as positional ones in `fn`'s order; None when they do not
    fit it (names it lacks, too many, not literals, or positional where names were asked)."""
    nodes = [*call.args, *(k.value for k in call.keywords)]
    if not nodes or not all(literal(ast.unparse(n)) for n in nodes):
        return None
    if call.args and (call.keywords or named_only):
        return None
    if call.args:
        return [ast.unparse(n) for n in call.args] if len(call.args) <= len(fn.params) else None
    named = {k.arg: ast.unparse(k.value) for k in call.keywords}
    if None in named or len(named) != len(call.keywords):
        return None
    if set(named) == set(fn.params[: len(named)]):
        return [named[p] for p in fn.params[: len(named)]]
    if len(named) == len(fn.params):  # other names, as many: the order they are given in
        return list(named.values())
    return None


def _split(text: str) -> list[str]:
    """`text` split at its top-level commas (outside brackets and string literals)."""
    cuts = [i for i, ch, depth in _code(text, 0) if ch == "," and depth == 0]
    parts = [text[a + 1 : b] for a, b in zip([-1, *cuts], [*cuts, len(text)], strict=True)]
    return [p.strip() for p in parts if p.strip()]


def _code(text: str, start: int) -> Iterator[tuple[int, str, int]]:
    """Each character of `text` from `start` outside string literals, with the bracket depth
    after it."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        ch = text[i]
        if quote:
            quote = "" if ch == quote and text[i - 1] != "\\" else quote
            continue
        if ch in "'\"":
            quote = ch
            continue
        depth += (ch in "([{") - (ch in ")]}")
        yield i, ch, depth


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
