"""Answers as plain data: exact builtin values to tagged JSON and back (never pickle).

Loaded by exact path (importlib) inside sandboxed checks, so it imports only the standard library.
A scalar is itself in JSON (JSON keeps 1 and 1.0 apart); a container is a one-key object naming
its type, so a tuple stays a tuple and a set a set. What is not plain data (an instance of the
program's class, an int subclass) becomes {"opaque": type name}, or whatever `other` makes of it.
"""

from __future__ import annotations

import json

DEPTH = 40  # nesting
SIZE = 200_000  # values in one answer
CHARS = 4_000_000  # characters in one answer's strings and bytes
_SEQ = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}
_TYPES = {v: k for k, v in _SEQ.items()}


class TooLarge(ValueError):
    """An answer past DEPTH, SIZE or CHARS."""


def encode(value, other=None, base=False):
    """`value` as JSON-able tagged data. `other(x)` may tag what is not plain (None: opaque);
    `base` sends an instance of a builtin type's subclass as its builtin value (read with the
    builtin's own methods, so none of the subclass's code runs)."""
    budget = [SIZE, CHARS]

    def enc(x, depth):
        budget[0] -= 1
        if depth > DEPTH or budget[0] < 0:
            raise TooLarge("too large")
        kind = type(x)
        if base and kind not in (bool, *_SEQ, dict, int, float, str, bytes, complex):
            x, kind = _base(x)
        if x is None or kind is bool or kind is float:
            return x
        if kind is int:
            if x.bit_length() > 12_000:
                raise TooLarge("too large")
            return x
        if kind is str or kind is bytes:
            budget[1] -= len(x)
            if budget[1] < 0:
                raise TooLarge("too large")
            return x if kind is str else {"bytes": x.hex()}
        if kind is complex:
            return {"complex": [x.real, x.imag]}
        if kind in _SEQ:
            return {_SEQ[kind]: [enc(i, depth + 1) for i in x]}
        if kind is dict:
            return {"dict": [[enc(k, depth + 1), enc(v, depth + 1)] for k, v in x.items()]}
        tagged = other(x) if other is not None else None
        return tagged if tagged is not None else {"opaque": kind.__name__[:100]}

    return enc(value, 0)


def _base(x):
    """An instance of a builtin type's subclass as that builtin's value (else unchanged)."""
    for kind, make in (
        (int, int.__int__),
        (float, float.__float__),
        (str, str.__str__),
        (bytes, bytes.__bytes__),
        (complex, complex.__complex__),
        (tuple, lambda v: tuple(tuple.__iter__(v))),
        (list, lambda v: list(list.__iter__(v))),
        (frozenset, lambda v: frozenset(frozenset.__iter__(v))),
        (set, lambda v: set(set.__iter__(v))),
        (dict, lambda v: dict(dict.items(v))),
    ):
        if isinstance(x, kind):
            return make(x), kind
    return x, type(x)


def decode(data, opaque=None, other=None):
    """Tagged data back to values; `opaque(name)` makes what stands for a value that is not plain
    data, `other(tag, body)` reads tags of the caller's own. Raises ValueError on anything else."""

    def dec(x, depth):
        if depth > DEPTH:
            raise TooLarge("too deep")
        if x is None or type(x) in (bool, int, float, str):
            return x
        if type(x) is not dict or len(x) != 1:
            raise ValueError("not tagged data")
        ((tag, body),) = x.items()
        if tag in _TYPES and type(body) is list:
            items = [dec(i, depth + 1) for i in body]
            try:
                return _TYPES[tag](items)
            except TypeError:  # an unhashable member of a set
                raise ValueError("an unhashable member") from None
        if tag == "dict" and type(body) is list:
            if not all(type(p) is list and len(p) == 2 for p in body):
                raise ValueError("a bad dict")
            try:
                return {dec(k, depth + 1): dec(v, depth + 1) for k, v in body}
            except TypeError:
                raise ValueError("an unhashable key") from None
        if tag == "bytes" and type(body) is str:
            return bytes.fromhex(body)
        if tag == "complex" and type(body) is list and len(body) == 2:
            return complex(float(body[0]), float(body[1]))
        if tag == "opaque" and type(body) is str and opaque is not None:
            return opaque(body)
        if other is not None:
            return other(tag, body)
        raise ValueError(f"unknown tag {tag!r}")

    return dec(data, 0)


def dumps(data) -> str:
    """One line of JSON (NaN and infinities kept)."""
    return json.dumps(data, separators=(",", ":"))


def loads(text):
    """The JSON `dumps` wrote."""
    return json.loads(text)
