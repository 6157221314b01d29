"""The goal read once into a value: its text, the examples it states, the code it gives, and
the skeleton a fresh main.py continues from. The loop, the sampler and `show` take this value
instead of each reading the text again."""

from __future__ import annotations

from dataclasses import dataclass

from . import Example
from .code import given, skeleton
from .examples import extract


@dataclass(frozen=True)
class Brief:
    text: str
    examples: tuple[Example, ...]  # checked like tests (project/checks.py)
    given: str  # the code the goal gives to complete, or ""
    skeleton: str  # `given`, ready for a function's body to follow

    @classmethod
    def read(cls, text: str) -> Brief:
        return cls(text, extract(text), given(text), skeleton(text))
