"""Examples written inline, `call <arrow> answer` anywhere in a line (`add(2, 3) ➞ 5`,
`f(1) should return 2.`): where the call ends and how far the answer runs, read linearly."""

from __future__ import annotations

import re

from . import MAX_ANSWER, Example
from .code import literal

_CALL = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")


_ARROWS = r"(?:==>|==|➞|=>|->|→|should (?:return|be)|returns?)"


_INLINE_ARROW = re.compile(rf"\s*{_ARROWS}\s*")


_ANY_ARROW = re.compile(_ARROWS)  # searched without the spaces: a run of them is read once


# What an inline answer is read as, token by token: a string literal, a word, a bracket, a cut
# (`,` `;` `.`), a comment, a character no literal holds outside a string, anything else.
_ANSWER = re.compile(
    r"""(?P<str>[rbuRBU]{0,2}(?:'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"))"""
    r"|(?P<word>(?<![\w.])[A-Za-z_]\w*)|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<cut>[,;.])"
    r"|(?P<comment>\#)|(?P<bad>['\"=<>!`?$\\@])|[^'\"\w()\[\]{},;.\#=<>!`?$\\@]+|\w+"
)


_LITERAL_WORDS = frozenset({"True", "False", "None"})


# brackets outside string literals; a lone quote is a string that never ends
_BRACKETS = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|(?P<lone>['"])|[()\[\]{}]""")


def _inline(line: str) -> list[Example]:
    """Examples inside a sentence: `... is_even(4) == True, is_even(7) == False.` Each call is
    followed by an arrow and a literal; the literal is the longest text up to a comma, semicolon,
    full stop, closing bracket or "and" that is one (so `[1, 2]` keeps its comma). Bare `=` is
    prose here."""
    found: list[Example] = []
    if not _ANY_ARROW.search(line):
        return found
    closes: dict[int, int | None] = {}
    for start in _CALL.finditer(line):
        opened = start.end() - 1
        if opened not in closes:  # inside a string of the passes so far: a pass of its own
            closes.update(_closings(line, opened))
        end = closes.get(opened)
        arrow = _INLINE_ARROW.match(line, end) if end else None
        if arrow is None:
            continue
        want = _answer(line, arrow.end())
        if want.endswith(".") and literal(want[:-1]):
            want = want[:-1]  # the sentence's full stop
        if want:
            found.append(Example(line[start.start() : end], want))
    return found


def _answer(line: str, at: int) -> str:
    """The longest literal from `at` to a cut ("4, and ..." is 4, not the tuple (4,)), read
    within MAX_ANSWER characters: only cuts outside strings and brackets, and before anything
    no literal holds (a name, an operator: the next example), are tried."""
    stop = min(len(line), at + MAX_ANSWER)
    cuts, depth = [], 0
    for token in _ANSWER.finditer(line, at, stop):
        kind, here = token.lastgroup, token.start() - at
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                cuts.append(here)
                break
        elif depth == 0 and kind == "cut":
            cuts.append(here)
        elif kind == "word" and token.group() in ("and", "or") and depth == 0:
            cuts.append(len(line[at : at + here].rstrip()))
            break
        elif kind == "comment" and depth == 0:
            cuts.append(here)  # `[1, 5] # the odd ones`
            break
        elif kind in ("comment", "bad") or (kind == "word" and token.group() not in _LITERAL_WORDS):
            break
    else:
        if stop == len(line):
            cuts.append(stop - at)  # the line's end
    rest = line[at:stop]
    for cut in sorted(set(cuts), reverse=True):
        text = rest[:cut].strip()
        if text and not text.endswith(",") and literal(text):
            return text
    return ""


def _closings(line: str, opened: int) -> dict[int, int | None]:
    """For each bracket a pass from the one at `opened` reaches (outside string literals): the
    index after the bracket that closes it, None when none does. One pass serves every call
    inside it, so the line is read once, not once per call."""
    found: dict[int, int | None] = {}
    stack: list[int] = []
    for token in _BRACKETS.finditer(line, opened):
        if token.group("lone"):
            break  # a string that never ends: nothing after it closes
        ch = token.group()
        if ch in "([{":
            stack.append(token.start())
            found[token.start()] = None
        elif ch in ")]}":
            if not stack:
                break
            found[stack.pop()] = token.end()
    return found
