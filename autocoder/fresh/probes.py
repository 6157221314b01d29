"""New inputs near the goal's examples, to tell apart candidates that answer every example.

Two or three examples rarely pin a function down: on HumanEval a third of the candidates that
answered every example of their goal failed its hidden tests. Programs that also agree on inputs
nobody gave an answer for are likelier to be the intended one (MBR-exec; CodeT's agreement): each
probe is an example's call with one literal argument nudged in a way that keeps its type (a number
one larger, a string or list reversed, one item shorter or empty, a flag flipped). The answers to
probes are never right or wrong, only equal or not between candidates; a candidate that raises on
one, or answers everything alike, is shaky (screen.shaky) and ranks after one that does not.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ..goal import Example
from ..goal.code import signatures, typed

LIMIT = 8  # probes per goal


def _nudged(node: ast.expr) -> Iterator[ast.expr]:
    """Variants of one literal argument, same type and shape."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return
    if isinstance(value, bool):
        yield ast.Constant(not value)
    elif isinstance(value, int):
        yield ast.Constant(value + 1)
        if value > 1:
            yield ast.Constant(value - 1)
    elif isinstance(value, float):
        yield ast.Constant(value + 0.5)
    elif isinstance(value, str) and value:
        if len(value) > 1:
            yield ast.Constant(value[::-1])
            yield ast.Constant(value[1:])
        yield ast.Constant("")
    elif isinstance(value, (list, tuple)) and value:
        for items in (value[::-1], value[1:])[: 2 if len(value) > 1 else 0]:
            yield ast.parse(repr(type(value)(items)), mode="eval").body
        yield ast.parse(repr(type(value)()), mode="eval").body


def probes(examples: tuple[Example, ...]) -> tuple[str, ...]:
    """Calls like the examples' with one argument nudged; none that is an example already."""
    given = {e.call for e in examples}
    found: list[str] = []
    for example in examples:
        try:
            call = ast.parse(example.call, mode="eval").body
        except SyntaxError:
            continue
        if not isinstance(call, ast.Call):
            continue
        for at, arg in enumerate(call.args):
            for variant in _nudged(arg):
                args = [*call.args[:at], variant, *call.args[at + 1 :]]
                text = ast.unparse(ast.Call(call.func, args, call.keywords))
                if text not in given and text not in found:
                    found.append(text)
    # evenly spaced over all that were found, so that every example's calls have probes
    return tuple(found if len(found) <= LIMIT else _spread(found))


# Inputs for a goal that states no examples but says its function's signature in words
# (`main.py defines fib(n) that returns ...`) or gives it as code to complete: values from each
# parameter's annotation (`numbers: List[float]`), else guessed from its name, small
# enough for any right program (a naive fib(12) is instant). Candidates are chosen by agreement on
# the answers; none is ever right or wrong, and raising is an answer like any other: a right
# program that refuses an input outside its domain is not marked down for it.
CALLS = 5  # derived calls per function
_TEXT = re.compile(
    r"(^|_)(s|str|string|text|txt|word|sentence|line|name|char|ch|message|msg|"
    r"sub|substring|prefix|suffix|pattern|phrase|title|letter|password|key)\d?$"
)
_REAL = re.compile(
    r"(^|_)(c|f|celsius|fahrenheit|kelvin|temp|temperature|price|amount|rate|"
    r"weight|height|ratio)$"
)
_WORDS = re.compile(r"(^|_)(words|strings|names|lines|texts|sentences|letters|keys)$")
_MANY = re.compile(
    r"(^|_)(l|lst|list|li|arr|array|seq|sequence|items|values|data|xs|nums|numbers|"
    r"elements|scores|prices|grades|ints|integers|a_list)\d?$"
)
VALUES = {
    "int": (1, 7, 12, 3, 0),  # 0 last: the edge a program most often refuses or loops on
    "str": ("hello world", "", "A man, a plan", "abc", "Racecar"),
    "float": (100.0, 0.0, 37.5, -40.0, 21.3),
    "words": (["apple", "banana"], [], ["b", "a", "c"], ["hello"], ["x", "y", "x"]),
    "ints": ([3, 1, 2], [], [5], [4, -1, 4, 0], [10, 20, 30]),
    "floats": ([1.0, 2.5, 2.0], [], [0.5], [-1.0, 3.0, 3.0, 0.0], [10.0, 20.0]),
}
# annotations as written, by the kind of value they ask for (typing's and the builtins' forms)
_HINTED = re.compile(
    r"^(?:typing\.)?(?:list|List|Sequence|Iterable|tuple|Tuple)\[(\w+)(?:, \.\.\.)?\]$"
)
HINTS = {"int": "int", "str": "str", "float": "float", "list": "ints", "List": "ints"}
OF = {"int": "ints", "str": "words", "float": "floats", "Any": "ints"}


def hinted(hint: str) -> str:
    """The kind of value an annotation asks for ("" : none this knows)."""
    inner = _HINTED.match(hint)
    return OF.get(inner.group(1), "") if inner else HINTS.get(hint, "")


def kind(param: str) -> str:
    """The kind of value a parameter's name suggests (a number when it suggests nothing)."""
    name = param.lower()
    for kind_, pattern in (("str", _TEXT), ("float", _REAL), ("words", _WORDS), ("ints", _MANY)):
        if pattern.search(name):
            return kind_
    return "int"


def _kinds(goal: str, given: str) -> list[tuple[str, list[str]]]:
    """The functions to call, the one the given code leaves to complete first, then those whose
    signatures the goal's words give (two at most, none without parameters: what `main()` or
    `greet()` prints is main.py's output, compared as is), each with its parameters' kinds."""
    said = [(name, params, [""] * len(params)) for name, params in signatures(goal)]
    named: dict[str, tuple[list[str], list[str]]] = {}
    for name, params, hints in [*typed(given), *said]:  # the code's annotations first
        named.setdefault(name, (params, hints))
    return [
        (name, [hinted(h) or kind(p) for p, h in zip(params, hints, strict=True)])
        for name, (params, hints) in list(named.items())[:2]
        if params
    ]


def _call(name: str, values: list[object]) -> str:
    return f"{name}({', '.join(map(repr, values))})"


def derived(goal: str, given: str = "") -> tuple[str, ...]:
    """Calls of the functions whose signatures the goal's words give, and of the one its given
    code leaves to complete, CALLS each (the values of the i-th call rotate per parameter, so
    that two parameters are not always equal)."""
    found = [
        _call(name, [VALUES[k][(i + at) % CALLS] for at, k in enumerate(kinds)])
        for name, kinds in _kinds(goal, given)
        for i in range(CALLS)
    ]
    return tuple(dict.fromkeys(found))


def shown(goal: str, given: str = "") -> tuple[str, ...]:
    """The calls `main()` may print for a goal without examples (candidates.normalize): the first
    function's with the first, most ordinary value of each parameter's kind (a rotated call can
    divide by 0.0 or search for ""), then the derived calls."""
    first = [_call(name, [VALUES[k][0] for k in kinds]) for name, kinds in _kinds(goal, given)[:1]]
    return tuple(dict.fromkeys([*first, *derived(goal, given)]))


def _spread(found: list[str]) -> list[str]:
    step = len(found) / LIMIT
    return [found[int(i * step)] for i in range(LIMIT)]
