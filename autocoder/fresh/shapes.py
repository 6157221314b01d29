"""The prompt shapes of a fresh start, and which one candidate k is asked in.

Every shape is a plain chat turn (candidates.ask's kind: a small model writes its best code as
one fenced block). A new shape is one function here and its place in `shape_of`: the sampler,
the screen and the selection take whatever each candidate was asked.
"""

from __future__ import annotations

from collections.abc import Callable

from ..goal.brief import Brief
from ..goal.code import described, said_first
from ..providers.base import Message
from .candidates import ask

Shape = Callable[[Brief], list[Message]]
# every ALTERNATE-th block of BLOCK candidates after the greedy one asks the goal as written
# rather than "complete this function": each shape finds right candidates where the other finds
# none. A candidate's shape follows from its number alone, whatever the rounds. (On HumanEval's
# first 128 goals at 33 candidates, the second round's right candidates that passed were all of
# this shape, candidates 26-33: the round's other 8 found none that passed. So every third block
# asks it now: the second round is that block alone, candidates 18-25.)
BLOCK, ALTERNATE = 8, 3


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
    its examples call (`Brief.stub`: a command's main(), begun by reading its arguments); with
    neither, the goal and "reply with main.py"."""
    code, said = described(brief.to_complete)
    return ask(brief.text, code + ("\n" + brief.begun if brief.begun else ""), said)


def as_said(brief: Brief) -> list[Message]:
    """The goal as written and "reply with main.py" (the same as `plain` when it gives no code),
    the docstring of the function its code leaves to complete said before that code, as
    `complete` says it."""
    return ask(said_first(brief.text), "")


def shape_of(k: int) -> Shape:
    """Candidate k's shape (k = 0 is the greedy one)."""
    if k == 0:
        return plain
    if (k - 1) // BLOCK % ALTERNATE == ALTERNATE - 1:
        return as_said
    return complete


def messages(brief: Brief, k: int) -> list[Message]:
    """What candidate k is asked."""
    return shape_of(k)(brief)
