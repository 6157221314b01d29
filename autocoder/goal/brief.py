"""The goal read once into a value: its text, the examples it states, the code it gives, and
the skeleton a fresh main.py continues from. The loop, the sampler and `show` take this value
instead of each reading the text again."""

from __future__ import annotations

from dataclasses import dataclass

from . import Example, command, free_names
from .code import completed, defined, given, named, skeleton
from .examples import extract


@dataclass(frozen=True)
class Brief:
    text: str
    examples: tuple[Example, ...]  # checked like tests (project/checks.py)
    given: str  # the code the goal gives to complete, or ""
    skeleton: str  # `given`, ready for a function's body to follow
    # what main.py must define: the function the given code leaves to complete, the ones the
    # goal's words name, and what its examples call
    names: frozenset[str] = frozenset()

    @classmethod
    def read(cls, text: str) -> Brief:
        found, code = extract(text), given(text)
        calls = set().union(*(free_names(e.call) for e in found if not command(e)))
        return cls(
            text, found, code, skeleton(text), frozenset(completed(code) | named(text) | calls)
        )

    def missing(self, main: str) -> set[str] | None:
        """The goal's names that this main.py does not define; None when it does not parse."""
        names = defined(main)
        return None if names is None else set(self.names - names)
