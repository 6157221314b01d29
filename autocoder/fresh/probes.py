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
from collections.abc import Iterator

from ..goal import Example

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


def _spread(found: list[str]) -> list[str]:
    step = len(found) / LIMIT
    return [found[int(i * step)] for i in range(LIMIT)]
