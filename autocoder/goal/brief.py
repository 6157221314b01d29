"""The goal read once into a value: its text, the examples it states, the code it gives, and
the skeleton a fresh main.py continues from. The loop, the sampler and `show` take this value
instead of each reading the text again."""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass
from typing import TypeGuard

from . import Example, command, free_names
from .code import (
    BUILTINS,
    completed,
    declared,
    defined,
    given,
    literal,
    named,
    signatures,
    skeleton,
)
from .commands import command_args
from .examples import extract

# a parameter's name for an example's argument, by what the argument is (the first free name of
# its kind; MBPP's own tasks name them so: `n`, `s`, `nums`, `test_tup`); two whole numbers are
# `m, n` (rows and columns, a range), not `n, m`
_NAMES = {
    bool: ("flag", "flag2"),
    int: ("n", "k", "x", "y"),
    "ints": ("m", "n", "k", "x", "y"),
    "rows": ("matrix", "grid"),
    "strs": ("words", "strs"),
    float: ("x", "y", "z"),
    str: ("s", "t", "text"),
    list: ("nums", "items", "values"),
    tuple: ("test_tup1", "test_tup2", "test_tup3"),
    dict: ("d", "d2", "d3"),
    set: ("items", "others"),
}
SHOWN = 3  # examples a stub's docstring shows
MAX_STUB = 4000  # characters: a goal longer than that is no sentence and an assert


class _NamedCall(ast.Call):
    func: ast.Name  # what _named_call tells the type checker


@dataclass(frozen=True)
class Brief:
    text: str
    examples: tuple[Example, ...]  # checked like tests (project/checks.py)
    given: str  # the code the goal gives to complete, or ""
    skeleton: str  # `given`, ready for a function's body to follow
    # what main.py must define: the function the given code leaves to complete, the ones the
    # goal's words name, and what its examples call
    names: frozenset[str] = frozenset()
    # when the goal gives no code and its words no signature, but its examples all call one
    # function (MBPP's form: a sentence and `assert f(...) == ...`): that function's signature
    # and a docstring of the goal's words and examples, for the model to complete (stub); where
    # they all run main.py as a command, main()'s (_command_stub)
    stub: str = ""

    @property
    def to_complete(self) -> str:
        """The code a candidate completes: the given code, else the stub (whose imports a
        candidate's main.py gets where its reply lacks them)."""
        return self.given or self.stub

    @property
    def begun(self) -> str:
        """The line a completion of the stub starts from, "" for none: a command's main() reads
        its arguments (asked without it, the 135M model wrote `sum(args)` with no `args`)."""
        return ARGS if self.stub.startswith(COMMAND_STUB) else ""

    @classmethod
    def read(cls, text: str) -> Brief:
        found, code = extract(text), given(text)
        calls = set().union(*(free_names(e.call) for e in found if not command(e)))
        names = frozenset(completed(code) | named(text) | calls)
        return cls(text, found, code, skeleton(text), names, stub(text, found))

    def missing(self, main: str) -> set[str] | None:
        """The goal's names that this main.py does not define at top level (as its lines read
        when it does not parse: `declared`); None when there is none."""
        if not main:
            return None
        names = defined(main)
        return set(self.names - (declared(main) if names is None else names))


ARGS = "    args = sys.argv[1:]"
COMMAND_STUB = "import sys\n\n\ndef main():\n"


def _command_stub(text: str, examples: tuple[Example, ...]) -> str:
    """main() and a docstring (the goal's words, its examples as a shell session) for a goal
    whose examples all run main.py as a command (`stub` asks only then); "" where the goal holds a
    fence or its words name functions (`named`: a main() alone would not define them), or where
    the stub would not parse as written."""
    if "```" in text or named(text):
        return ""
    shown = []
    for e in examples[:SHOWN]:
        args = command_args(e) or ()
        printed = ast.literal_eval(e.want) if literal(e.want) else e.want
        shown.append(
            f"    $ python main.py {shlex.join(map(str, args))}".rstrip() + f"\n    {printed}"
        )
    words = "\n".join(f"    {line.strip()}" for line in text.strip().splitlines() if line.strip())
    code = f'{COMMAND_STUB}    """{words.lstrip()}\n\n' + "\n".join(shown) + '\n    """'
    return code if len(code) <= MAX_STUB and _parses(code) and '"""' not in words else ""


def stub(text: str, examples: tuple[Example, ...]) -> str:
    """`def f(nums, n):` and a docstring (the goal's words, its examples as doctests) for the one
    function the goal's words give the signature of (`main.py defines fib(n) that ...`) or,
    else, that every example calls by name, in the same way; "" for none. A small model asked to
    complete a function keeps its name and finishes its body; asked for a main.py from the
    sentence alone, it names the function after the sentence (`min_cost_path` for the goal's
    `min_cost`) or writes a program around the example's values. None where the goal holds a
    fence (code it gives, or shows), where its words name more than one function or write the
    called one's name with parentheses but no plain signature (`defines add(a, b=0)`), for a
    class (a capitalised name), or where the stub would not parse as written (a NUL, a
    backslash)."""
    if examples and all(command(e) for e in examples):
        return _command_stub(text, examples)
    if "```" in text:
        return ""
    if said := signatures(text):
        name, params = said[0]
        if len(said) > 1 or named(text) != {name} or _RUNS.search(text):
            return ""
        for e in examples:  # each calls it as the words' signature takes it
            call = None if command(e) else _call(e.call)
            if call is None or call.func.id != name or not _fits(call, params):
                return ""
        return _stub(name, params, text, examples, with_name=True)
    calls = [None if command(e) else _call(e.call) for e in examples]
    if not calls or None in calls:
        return ""
    ways = {(c.func.id, len(c.args), tuple(k.arg for k in c.keywords)) for c in calls if c}
    if len(ways) != 1:  # two functions, or one called two ways: no one signature
        return ""
    first = calls[0]
    assert first is not None and _named_call(first)
    params = _params(first)
    return "" if params is None else _stub(first.func.id, params, text, examples)


# words saying how the program runs: a stub of the function alone would leave that out (its
# candidates get a main() printing the function's calls: candidates.normalize)
_RUNS = re.compile(
    r"\bmain\s*\(|python3?\s+main\.py|\bstdin\b|standard input|\bargv\b|\binput\s*\(|when run\b"
    r"|command[- ]line|\busage\b",
    re.IGNORECASE,
)


def _fits(call: ast.Call, params: list[str]) -> bool:
    """Whether the call passes each of `params` once: positionally, then by keyword."""
    if any(isinstance(a, ast.Starred) for a in call.args) or len(call.args) > len(params):
        return False
    keywords = [k.arg for k in call.keywords]
    return sorted(params[len(call.args) :]) == sorted(k for k in keywords if k is not None)


def _stub(
    name: str, params: list[str], text: str, examples: tuple[Example, ...], *, with_name=False
) -> str:
    """The stub of `name(params)`: the goal's lines but those that are an example alone (an
    assert, a doctest and its answer, `f(2) == 4`), then the examples as doctests, each once;
    "" for a class, or where the lines write `name(` though the signature is not theirs
    (`with_name`: it is)."""
    if name[:1].isupper():
        return ""
    mine = [e for e in examples if not command(e)]
    said = tuple("".join(e.call.split()) for e in mine)
    wants = {e.want for e in mine}
    words = [
        line.strip()
        for line in text.strip().splitlines()
        if line.strip()
        and not line.lstrip().startswith(("assert ", ">>>"))
        and not "".join(line.split()).startswith(said or ("\0",))
        and line.strip() not in wants
    ]
    if not with_name and re.search(rf"(?<![\w.]){re.escape(name)}\s*\(", "\n".join(words)):
        return ""
    shown = [f"    >>> {e.call}\n    {e.want}" for e in mine[:SHOWN]]
    body = "\n".join([*(f"    {w}" for w in words), *shown])
    code = f'def {name}({", ".join(params)}):\n    """{body.lstrip()}\n    """'
    return code if len(code) <= MAX_STUB and _parses(code) and '"""' not in body else ""


def _parses(code: str) -> bool:
    """Whether the stub is Python that says what it was built to say (no escape sequence: a
    backslash in a docstring is read as one)."""
    if "\\" in code:
        return False
    try:
        ast.parse(code.encode("utf-8"))
    except (SyntaxError, ValueError, UnicodeError):
        return False
    return True


def _call(source: str) -> ast.Call | None:
    """The example's call of the program's function: `f(...)`, or the one inside a builtin's
    (`set(f(...))`, `sorted(f(...))`); None for a method or anything else."""
    try:
        node = ast.parse(source, mode="eval").body
    except SyntaxError:
        return None
    while _named_call(node) and node.func.id in BUILTINS and len(node.args) == 1:
        node = node.args[0]
    return node if _named_call(node) and node.func.id not in BUILTINS else None


def _named_call(node: ast.expr) -> TypeGuard[_NamedCall]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name)


def _params(call: ast.Call) -> list[str] | None:
    """Parameter names for the call's arguments (its keywords' own names), None when it unpacks
    (`*args`) or names a keyword twice."""
    if any(isinstance(arg, ast.Starred) for arg in call.args):
        return None
    kinds = [_kind(ast.unparse(arg)) for arg in call.args]
    if kinds.count(int) > 1:
        kinds = ["ints" if k is int else k for k in kinds]
    taken: list[str] = []
    for kind in kinds:
        free = [n for n in _NAMES.get(kind, ()) if n not in taken]
        taken.append(free[0] if free else f"arg{len(taken) + 1}")
    for kw in call.keywords:
        if kw.arg is None or kw.arg in taken:
            return None
        taken.append(kw.arg)
    return taken


def _kind(value: str) -> object:
    """What a literal argument is, for its name: its type, "rows" for a list of lists, "strs"
    for a list of strings; None when it is no literal."""
    if not literal(value):
        return None
    data = ast.literal_eval(value)
    if isinstance(data, list) and data and all(isinstance(x, list) for x in data):
        return "rows"
    if isinstance(data, list) and data and all(isinstance(x, str) for x in data):
        return "strs"
    return type(data)
