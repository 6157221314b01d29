"""The goal, read as data: the examples it states (examples.py, inline.py) and the code it gives
(code.py). Nothing here runs anything."""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

# What extraction reads, so that its time and memory stay linear in the goal whatever its shape
# (a goal of one 96 KB line took 1.5 GB): the first MAX_SCAN characters of the goal, the first
# MAX_LINE of each line (cut at a space), an inline answer within MAX_ANSWER characters.
# HumanEval's longest line is 259 characters.
MAX_SCAN = 256 * 1024
MAX_LINE = 2000
MAX_ANSWER = 500
RUN = "__run__"  # the checks' own function: main.py run as a command, what it printed (_tool.py)


@dataclass(frozen=True)
class Example:
    call: str  # a Python expression calling the program's code
    want: str  # what it must give: a literal, or else the repr doctest would print


def command(example: Example) -> bool:
    """Whether the example runs main.py as a command (RUN) rather than calling its code."""
    return example.call.startswith(f"{RUN}(")


def free_names(call: str) -> set[str]:
    """The names a call needs from the program (builtins and RUN aside): {"add", "x"} for
    `add(len(x), 1)`."""
    names = {n.id for n in ast.walk(ast.parse(call, mode="eval")) if isinstance(n, ast.Name)}
    return names - set(dir(builtins)) - {RUN}
