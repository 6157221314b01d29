"""The goal's own examples, run as checks.

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
import builtins
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import sandbox
from .state import ProcResult

LIMIT = 20  # examples kept from one goal
# What extraction reads, so that its time and memory stay linear in the goal whatever its shape
# (a goal of one 96 KB line took 1.5 GB): the first MAX_SCAN characters of the goal, the first
# MAX_LINE of each line (cut at a space), an inline answer within MAX_ANSWER characters.
# HumanEval's longest line is 259 characters.
MAX_SCAN = 256 * 1024
MAX_LINE = 2000
MAX_ANSWER = 500
RUN = "__run__"  # the checks' own function: main.py run as a command, what it printed (_tool.py)
_COMMAND = re.compile(
    r"[`\"]?python3? main\.py(?P<args>(?: +[^\s`\"]+)*) *[`\"]?,? +(?:prints|outputs|shows)"
    r"(?: out)? +(?P<want>`[^`\n]+`|\"[^\"\n]*\"|[^\s`\"]+)"
)
TIMEOUT = 10.0
_LINE = re.compile(
    r"^\s*(?:>>>\s*|assert\s+)?(?P<call>[A-Za-z_][\w.]*\(.*\))\s*"
    r"(?:==>|==|➞|=>|->|→|=|#\s*(?:returns?|=>|->)|should (?:return|be))\s*(?P<want>.+)$"
)  # `want` is greedy, stripped after: a lazy one before `\s*$` is quadratic in a run of spaces


@dataclass(frozen=True)
class Example:
    call: str  # a Python expression calling the program's code
    want: str  # what it must give: a literal, or else the repr doctest would print


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
    found += [e for line in lines for e in _commands(line)]
    kept = [_plain(e) for e in dict.fromkeys(found) if _well_formed(e)]
    names = _defined(code)
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


def _commands(line: str) -> list[Example]:
    """`python main.py 2 3` prints 5: the command's arguments (as a shell splits them) and what it
    prints: text in backticks or quotes, else a number (or True, False, None), its sentence's
    punctuation aside; `prints the total` is prose."""
    found = []
    for match in _COMMAND.finditer(line):
        try:
            args = shlex.split(match["args"])
        except ValueError:
            continue
        want = match["want"]
        quoted = want[0] in '`"'
        want = want[1:-1] if quoted else want.rstrip(".,;:)")
        if want and (quoted or (literal(want) and not isinstance(ast.literal_eval(want), str))):
            found.append(Example(f"{RUN}({', '.join(map(repr, args))})", repr(want)))
    return found


def command(example: Example) -> bool:
    """Whether the example runs main.py as a command (RUN) rather than calling its code."""
    return example.call.startswith(f"{RUN}(")


def free_names(call: str) -> set[str]:
    """The names a call needs from the program (builtins and RUN aside): {"add", "x"} for
    `add(len(x), 1)`."""
    names = {n.id for n in ast.walk(ast.parse(call, mode="eval")) if isinstance(n, ast.Name)}
    return names - set(dir(builtins)) - {RUN}


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
_ARROWS = r"(?:==>|==|➞|=>|->|→|should (?:return|be)|returns?)"
_INLINE_ARROW = re.compile(rf"\s*{_ARROWS}\s*")
_ANY_ARROW = re.compile(_ARROWS)  # searched without the spaces: a run of them is read once
# What an inline answer is read as, token by token: a string literal, a word, a bracket, a cut
# (`,` `;` `.`), a comment, a character no literal holds outside a string, anything else.
_ANSWER = re.compile(
    r"""(?P<str>[rbuRBU]{0,2}(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))"""
    r"|(?P<word>(?<![\w.])[A-Za-z_]\w*)|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<cut>[,;.])"
    r"|(?P<comment>\#)|(?P<bad>['\"=<>!`?$\\@])|[^'\"\w()\[\]{},;.\#=<>!`?$\\@]+|\w+"
)
_LITERAL_WORDS = frozenset({"True", "False", "None"})
# brackets outside string literals; a lone quote is a string that never ends
_BRACKETS = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|(?P<lone>['"])|[()\[\]{}]""")


def _inline(line: str) -> list[Example]:
    """Examples inside a sentence: `... is_even(4) == True, is_even(7) == False.` Each call is
    followed by an arrow and a literal; the literal is the longest text up to a comma, semicolon,
    full stop, closing bracket or "and" that is one (so `[1, 2]` keeps its comma). Bare `=` is
    prose here."""
    found: list[Example] = []
    if not _ANY_ARROW.search(line):
        return found
    closes: dict[int, int | None] = {}
    for start in _CALL.finditer(line):
        opened = start.end() - 1
        if opened not in closes:  # inside a string of the passes so far: a pass of its own
            closes.update(_closings(line, opened))
        end = closes.get(opened)
        arrow = _INLINE_ARROW.match(line, end) if end else None
        if arrow is None:
            continue
        want = _answer(line, arrow.end())
        if want.endswith(".") and literal(want[:-1]):
            want = want[:-1]  # the sentence's full stop
        if want:
            found.append(Example(line[start.start() : end], want))
    return found


def _answer(line: str, at: int) -> str:
    """The longest literal from `at` to a cut ("4, and ..." is 4, not the tuple (4,)), read
    within MAX_ANSWER characters: only cuts outside strings and brackets, and before anything
    no literal holds (a name, an operator: the next example), are tried."""
    stop = min(len(line), at + MAX_ANSWER)
    cuts, depth = [], 0
    for token in _ANSWER.finditer(line, at, stop):
        kind, here = token.lastgroup, token.start() - at
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                cuts.append(here)
                break
        elif depth == 0 and kind == "cut":
            cuts.append(here)
        elif kind == "word" and token.group() in ("and", "or") and depth == 0:
            cuts.append(len(line[at : at + here].rstrip()))
            break
        elif kind == "comment" and depth == 0:
            cuts.append(here)  # `[1, 5] # the odd ones`
            break
        elif kind in ("comment", "bad") or (kind == "word" and token.group() not in _LITERAL_WORDS):
            break
    else:
        if stop == len(line):
            cuts.append(stop - at)  # the line's end
    rest = line[at:stop]
    for cut in sorted(set(cuts), reverse=True):
        text = rest[:cut].strip()
        if text and not text.endswith(",") and literal(text):
            return text
    return ""


def _closings(line: str, opened: int) -> dict[int, int | None]:
    """For each bracket a pass from the one at `opened` reaches (outside string literals): the
    index after the bracket that closes it, None when none does. One pass serves every call
    inside it, so the line is read once, not once per call."""
    found: dict[int, int | None] = {}
    stack: list[int] = []
    for token in _BRACKETS.finditer(line, opened):
        if token.group("lone"):
            break  # a string that never ends: nothing after it closes
        ch = token.group()
        if ch in "([{":
            stack.append(token.start())
            found[token.start()] = None
        elif ch in ")]}":
            if not stack:
                break
            found[stack.pop()] = token.end()
    return found


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
    """Run the examples against the project's main.py; None when there are none or no main.py.
    The sandboxed check only answers each call, as plain data (_tool.run_examples); whether that
    is the expected answer is decided here, where no code of the project ever ran."""
    from . import plain

    if not examples or not (Path(root) / "main.py").is_file():
        return None
    payload = json.dumps([e.call for e in examples])
    ran = sandbox.tool(["examples"], Path(root), TIMEOUT, stdin=payload, policy=policy)
    sent = (ran.report or {}).get("answers")
    answers = [plain.answer(a) for a in sent[: len(examples)]] if isinstance(sent, list) else []
    results = [plain.matches(got, e.want) for got, e in zip(answers, examples, strict=False)]
    lines = []
    for got, e, ok in zip(answers, examples, results, strict=False):
        said = "printed" if command(e) else "returned"
        if ok:
            lines.append(f"ok   {plain.call_text(e.call)} == {e.want}")
        elif isinstance(got, plain.Raised):
            lines.append(
                f"FAIL {plain.call_text(e.call)} raised {got.name}: {got.message}; "
                f"expected {e.want}"
            )
        else:
            lines.append(f"FAIL {plain.call_text(e.call)} {said} {got!r}; expected {e.want}")
    results += [False] * (len(examples) - len(results))  # unanswered: the check stopped first
    report = {**(ran.report or {}), "results": results, "got": [plain.shown(a) for a in answers]}
    output = "\n".join(filter(None, [ran.output.rstrip("\n"), *lines]))
    code = 0 if all(results) and ran.ok else (ran.returncode or 1)
    return ProcResult(code, sandbox.cap(output), ran.seconds, ran.timed_out, report)
