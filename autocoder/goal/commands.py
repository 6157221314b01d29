"""A command line's examples in a goal's words: `` `python main.py 2 3` prints 5 `` is a call of
RUN (`__run__('2', '3')`: what main.py prints, run as `python main.py 2 3` with nothing on stdin)
whose answer is '5' (examples.py reads the rest of a goal's examples)."""

from __future__ import annotations

import ast
import re
import shlex
from collections import Counter

from . import RUN, Example, command
from .code import literal

# `python main.py 2 3` prints 5 (should print, outputs, gives, ->): its arguments end at the first
# such word, so that "python main.py 3 4 prints 7 and python main.py prints 0" is two examples
_SAYS = r"(?:(?:should|must|will) +(?:print|output|show|give)|prints|outputs|shows|gives)(?: out)?"
# An argument is not "python" or "main.py" (another command begins), nor ends in "," or ";" (a
# clause ends); the spaces after the arguments are matched once (possessively: a long run of them
# made the match quadratic).
_COMMAND = re.compile(
    rf"[`\"]?python3? main\.py(?P<args>(?: +(?!{_SAYS}\b|python3?\b|main\.py\b)"
    r"[^\s`\"]*[^\s`\";,])*?)(?: *[`\"])?"
    rf"(?:,? ++{_SAYS} +| *+(?:->|→|=>|==>) *)"
    r"(?P<want>`[^`\n]+`|\"[^\"\n]*\"|[^\s`\"]+)"
)

# Unquoted words after `python main.py` that say there are no arguments ("with no arguments",
# "(without any args)"), and words that begin prose rather than arguments ("with 3 and 4")
_NONE = re.compile(
    r"\(?(?:(?:(?:with|given|passing) +no|without(?: +any)?|no) +(?:arguments?|args?|input)"
    r"|alone|by itself|on its own|with nothing)\)?",
    re.IGNORECASE,
)
_PROSE = frozenset(
    {"with", "without", "given", "passing", "and", "on", "for", "when", "using", "called"}
    | {"in", "from", "at", "by", "via", "then"}
)
_PRONOUNS = frozenset({"a", "an", "the", "it", "its", "this", "that", "them", "one", "all", "out"})
# what a command that should fail prints
_FAILS = re.compile(
    r"(?i)\b(?:error|usage|invalid|exception|traceback|not found|not a|no such|cannot|can't"
    r"|division by zero|unknown|missing|must be)\b"
)
# after an output word, another command: `prints olleh and `python main.py abc` prints cba`
_NEXT = re.compile(r"\s*(?:(?:and|or|while|but|whereas)\s+)?(?:[`\"]|python3? main\.py\b)")


def commands(line: str) -> list[Example]:
    """`python main.py 2 3` prints 5: the command's arguments (as a shell splits them) and what it
    prints: text in backticks or quotes, else a number (or True, False, None), its sentence's
    punctuation aside; `prints the total` is prose, and so is an unquoted word (`prints usage.`,
    `prints Hello, World!`: a word is as often what is said of the output as the output) unless
    it is spelled from the arguments' letters and ends its clause (`python main.py hello prints
    olleh.`: what a tool makes of its input). Unquoted, "python main.py with no arguments prints
    0" runs it with none, and "python main.py with 3 and 4 prints 7" is prose."""
    found = []
    for match in _COMMAND.finditer(line):
        try:
            args = shlex.split(match["args"])
        except ValueError:
            continue
        if match[0][0] not in '`"' and args:  # unquoted: the words may be prose
            if _NONE.fullmatch(" ".join(args)):
                args = []
            elif args[0].lower() in _PROSE and len(args) > 1:  # `python main.py on` is a switch
                continue
        raw = match["want"]
        quoted = raw[0] in '`"'
        want = raw[1:-1] if quoted else raw.rstrip(".,;:)")
        if want and (quoted or _number(want) or _spelled(raw, args, line[match.end() :])):
            found.append(Example(f"{RUN}({', '.join(map(repr, args))})", repr(want)))
    return found


def command_args(example: Example) -> tuple[str, ...] | None:
    """The arguments a command line's example runs main.py with (`__run__('2', '3')`: ('2',
    '3')); None for an example that calls the program's code."""
    if not command(example):
        return None
    try:
        call = ast.parse(example.call, mode="eval").body
        args = tuple(ast.literal_eval(a) for a in getattr(call, "args", ()))
    except (SyntaxError, ValueError):
        return None
    return args if all(isinstance(a, str) for a in args) else None


def arguments(examples: tuple[Example, ...]) -> tuple[str, ...] | None:
    """The arguments of the goal's first command line that should not fail (`python main.py 2
    3` prints 5: ('2', '3'); not `python main.py 1 0` prints `error: ...`, unless every command
    does), which is how main.py is run to see that it runs; None when the goal states none."""
    said = [
        (bool(_FAILS.search(e.want)), args)
        for e in examples
        if (args := command_args(e)) is not None
    ]
    return min(said, key=lambda s: s[0])[1] if said else None


def _spelled(raw: str, args: list[str], after: str) -> bool:
    """Whether an unquoted word a command prints is its output: spelled from the letters of its
    arguments (flags and file names aside: olleh of hello, A of a, not Hello of Charlotte), not
    its first argument (`python main.py help` prints help.: a subcommand described), not a
    pronoun, and the end of its clause (`prints olleh.`; not `prints HELLO WORLD`, `prints h: 1`
    nor the list `prints apple, banana, cherry.`)."""
    word = raw.rstrip(".,;:)")
    tail = raw[len(word) :]
    pool = Counter("".join(a for a in args if a.isalnum()).casefold())
    if (
        not args
        or not word.isalpha()
        or (word if len(word) == 1 else word.casefold()) in _PRONOUNS  # `a` is not `A`
        or word == args[0]
        or Counter(word.casefold()) - pool
        or tail.startswith(":")
    ):
        return False
    if tail.startswith(","):  # a list goes on with another word of those letters
        more = re.match(r"\s*([A-Za-z]+)\b", after)
        return not (more and not Counter(more[1].casefold()) - pool)
    return bool(tail) or not after.strip() or _NEXT.match(after) is not None


def _number(want: str) -> bool:
    return literal(want) and not isinstance(ast.literal_eval(want), str)
