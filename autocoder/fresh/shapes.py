"""The prompt shapes of a fresh start, and which one candidate k is asked in.

Every shape is a plain chat turn (candidates.ask's kind: a small model writes its best code as
one fenced block). A new shape is one function here and its place in `shape_of`: the sampler,
the screen and the selection take whatever each candidate was asked.
"""

from __future__ import annotations

from collections.abc import Callable

from ..goal.brief import Brief
from ..goal.code import copies, described, said_first
from ..providers.base import Message
from .candidates import ask

Shape = Callable[[Brief], list[Message]]
# the blocks of BLOCK candidates after the greedy one take the shapes of `shape_of`'s cycle in
# turn: each shape finds right candidates where the others find none. A candidate's shape follows
# from its number alone, whatever the rounds (a local model's first round is two blocks, its
# second the third block alone)
BLOCK = 8

# one worked exchange before the ask (`worked`): a function completed the way a right reply does
# it, its body only after the signature, plainly. Not a HumanEval task, and never a project:
# a candidate copying its code is dropped (`parrots`), as the action prompt's examples are
WORKED_ASK = (
    "Complete this Python function. Reply with the complete function in a ```python block.\n\n"
    "Return how many numbers in the list are even.\n>>> count_even([1, 2, 4, 7])\n2\n\n"
    "```python\ndef count_even(numbers: list) -> int:\n```"
)
WORKED_CODE = (
    "def count_even(numbers: list) -> int:\n    count = 0\n    for n in numbers:\n"
    "        if n % 2 == 0:\n            count += 1\n    return count\n"
)


def plain(brief: Brief) -> list[Message]:
    """The plain call (`bench --plain` asks it): complete the code the goal gives; where it gives
    none, the goal and "reply with main.py". The greedy candidate, so that what a plain call
    finds, the agent finds."""
    return ask(brief.text, brief.given)


def complete(brief: Brief) -> list[Message]:
    """Complete the code the goal gives, its function's docstring said before the code rather
    than inside it (asked with the docstring in the code, a reply typed it again: 28 % of the
    code of HumanEval/0-39's warm candidates; asked so, 16 candidates a goal wrote 26 % fewer
    tokens in 31 % less time and found a passing one for the same 11 goals); else the function
    its examples call (`Brief.stub`); with neither, the goal and "reply with main.py"."""
    return ask(brief.text, *described(brief.given or brief.stub))


def as_said(brief: Brief) -> list[Message]:
    """The goal as written and "reply with main.py" (the same as `plain` when it gives no code),
    the docstring of the function its code leaves to complete said before that code, as
    `complete` says it."""
    return ask(said_first(brief.text), "")


def worked(brief: Brief) -> list[Message]:
    """`complete`, after one worked exchange of the same ask (WORKED_ASK, WORKED_CODE): where
    the goal gives or implies a function to complete; else `complete` as it is. (On HumanEval/0-79
    at 029edd9, 8 candidates a goal asked so found a passing one for 2 goals that 24 asked as
    `complete` and `as_said` had not; the second block of `complete` had found none that the
    first had not.)"""
    if not (brief.given or brief.stub):
        return complete(brief)
    shown = [
        {"role": "user", "content": WORKED_ASK},
        {"role": "assistant", "content": f"```python\n{WORKED_CODE}```"},
    ]
    return [*shown, *complete(brief)]


def parrots(code: str) -> bool:
    """Whether a candidate's code is the worked exchange's (a small model may copy it whole)."""
    return copies(code, WORKED_CODE)


CYCLE: tuple[Shape, ...] = (complete, worked, as_said)


def shape_of(k: int) -> Shape:
    """Candidate k's shape (k = 0 is the greedy one)."""
    if k == 0:
        return plain
    return CYCLE[(k - 1) // BLOCK % len(CYCLE)]


def messages(brief: Brief, k: int) -> list[Message]:
    """What candidate k is asked."""
    return shape_of(k)(brief)
