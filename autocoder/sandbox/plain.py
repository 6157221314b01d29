"""Answers compared in autocoder's own process, as plain data a check sent back (_codec.py).

A check runs the project's code in a sandboxed child; what comes back is data, never an object, so
no `__eq__`, int subclass or patched builtin of the project takes part in the comparison here.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass

from . import _codec


@dataclass(frozen=True, eq=False)
class Opaque:
    """An answer that was not plain data (or could not be read): it equals nothing."""

    kind: str

    def __repr__(self) -> str:
        return f"<not plain data: {self.kind}>"


@dataclass(frozen=True)
class Raised:
    """A call that raised instead of answering."""

    name: str
    message: str = ""


def answer(data: object) -> object:
    """What one call answered: a value, Opaque or Raised (from a check's report)."""
    if type(data) is dict and set(data) == {"raised"} and type(data["raised"]) is list:
        name, message = [*map(str, data["raised"]), "", ""][:2]
        return Raised(name[:100], message[:500])
    if type(data) is dict and set(data) == {"value"}:
        try:
            return _codec.decode(data["value"], Opaque)
        except (ValueError, TypeError, OverflowError, RecursionError):
            return Opaque("unreadable")
    return Opaque("unreadable")


def same(got: object, want: object) -> bool:
    """Whether `got` is `want` as plain data: exact types (bool is not int, a str subclass is not
    str); a float within a relative 1e-6 of an expected float, and for an expected int only an
    int or a float that is exactly that whole number; set members and dict keys by type and
    value (in a builtin set, True, 1 and 1.0 are one member)."""
    if type(want) is float and type(got) in (int, float):
        try:
            return math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
        except OverflowError:
            return False
    if type(want) is int and type(got) is float:
        return got.is_integer() and int(got) == want
    if type(got) is not type(want) or isinstance(got, (Opaque, Raised)):
        return False
    if type(got) in (list, tuple):
        return len(got) == len(want) and all(map(same, got, want))
    if type(got) in (set, frozenset):
        return _tagged(got) == _tagged(want)
    if type(got) is dict:
        keys = {_tag(k): k for k in got}
        wanted = {_tag(k): k for k in want}
        return keys.keys() == wanted.keys() and all(
            same(got[keys[t]], want[wanted[t]]) for t in keys
        )
    return bool(got == want)  # both the same builtin type: a builtin's own ==


def _tag(value: object) -> object:
    """A hashable value that tells types apart (True, 1 and 1.0 differ), members included."""
    if type(value) in (tuple, frozenset):
        inner = tuple(_tag(v) for v in value)
        return (
            type(value).__name__,
            tuple(sorted(inner, key=repr)) if type(value) is frozenset else inner,
        )
    return (type(value).__name__, value)


def _tagged(members: set | frozenset) -> frozenset:
    return frozenset(_tag(m) for m in members)


def matches(got: object, want: str) -> bool:
    """Whether an answer is what the goal says (`want` a literal, else text to compare with)."""
    try:
        expected = ast.literal_eval(want)
    except Exception:  # noqa: BLE001 (literal_eval fails in many ways: each means "as text")
        return not isinstance(got, (Opaque, Raised)) and want in (repr(got), str(got))
    return same(got, expected)


def shown(got: object) -> str:
    """An answer as the check's lines and the behaviour (select.py) show it."""
    if isinstance(got, Raised):
        return f"raised {got.name}"
    return repr(got)[:500]


RUN = "__run__"  # goal.RUN: a command line's example calls it


def call_text(call: str) -> str:
    """The call as the goal wrote it: `python main.py 2 3` for a command line's example."""
    if not call.startswith(f"{RUN}("):
        return call
    import shlex

    try:
        args = [ast.literal_eval(a) for a in ast.parse(call, mode="eval").body.args]
    except (ValueError, SyntaxError, AttributeError, TypeError, RecursionError, MemoryError):
        return call
    return shlex.join(["python", "main.py", *map(str, args)])
