"""Choosing among candidate programs by running them, never by how they read.

Order: the goal's own examples first (facts the goal states); then agreement between candidates:
programs that behave the same (the same answers to the examples' calls, else the same output of
main.py) form a group, and the larger the group the likelier its behaviour is the intended one
(MBR-exec; CodeT's execution agreement without generated tests); then how far each got (runs,
tests, clean files); the earliest candidate (the greedy one) breaks ties.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..state import Observation


@dataclass(frozen=True)
class Trial:
    """What one candidate did in a scratch copy of the project."""

    # Observation.progress(): green, examples right, runs, tests pass, clean
    progress: tuple[int, ...]
    behaviour: str  # what it answered or printed; "" when it did not run (it agrees with nothing)
    shaky: bool = False  # it raised on a probe or answered all alike (screen.shaky)
    python: int = 0  # the Python files of its project (progress counts the clean ones)

    @classmethod
    def of(cls, obs: Observation | None) -> Trial:
        if obs is None:
            return cls((0, -1), "")
        return cls(obs.progress(), behaviour(obs), python=len(obs.python))


def behaviour(obs: Observation) -> str:
    """The examples' answers when the goal has examples (and main.py imports), else main.py's
    output when it ran and printed something (programs that print nothing agree on nothing):
    equal strings, equal behaviour."""
    report = obs.examples.report if obs.examples is not None else None
    if report and isinstance(report.get("got"), list) and report["got"]:
        return "\x1f".join(map(str, report["got"]))
    if obs.main is not None and obs.main.ok and obs.main.output.strip():
        return f"exit 0\x1f{obs.main.output}"
    return ""


def rank(t: Trial, i: int, groups: Counter[str]) -> tuple[Any, ...]:
    """How `choose` orders candidate i, tried as `t` (the higher wins; `groups`: how many
    candidates behave each way). Steady before green, green before agreement: probes split
    candidates that all answer the examples, and a green one of a smaller group beats one that
    fails its own checks; the earliest breaks ties."""
    right, green = max(t.progress[1], 0), t.progress[0]
    return (right, not t.shaky, green, groups.get(t.behaviour, 0), t.progress, -i)


def choose(
    trials: list[Trial], among: list[int] | None = None
) -> tuple[int, list[dict[str, Any]], str]:
    """The chosen candidate's index, every candidate's score, and why it won. `among`: the
    candidates that may be chosen (those tried in full); every candidate's behaviour counts
    towards agreement."""
    groups = Counter(t.behaviour for t in trials if t.behaviour)
    among = list(range(len(trials))) if among is None else among

    def score(i: int) -> tuple[Any, ...]:
        return rank(trials[i], i, groups)

    best = max(among, key=score)
    table = [
        {
            "candidate": i,
            "examples_right": max(t.progress[1], 0),
            "agree": groups.get(t.behaviour, 0),
            "shaky": t.shaky,
            "progress": list(t.progress),
            "chosen": i == best,
            "tried": i in among,
        }
        for i, t in enumerate(trials)
    ]

    def facts(i: int) -> tuple[int, int]:  # examples right, agreement
        return score(i)[0], score(i)[3]

    right, agree = facts(best)
    rivals = [facts(i) for i in among if i != best]
    others = [
        facts(i)
        for i in among
        if trials[i].behaviour != trials[best].behaviour or not trials[i].behaviour
    ]
    level = [a for r, a in others if r == right and a]
    if right and all(r < right for r, _ in rivals):
        why = f"it answers {right} of the goal's examples right, more than any other candidate"
    elif (
        right
        and any(trials[i].shaky for i in among if facts(i)[0] == right and i != best)
        and (not trials[best].shaky)
    ):
        why = (
            f"it answers {right} of the goal's examples right, as others that raised on a probe "
            "or answered every input alike do"
        )
    elif agree > 1 and all(a < agree for a in level):
        why = f"{agree} of {len(trials)} candidates behave as it does"
    elif right and trials[best].progress[0]:
        why = f"it answers {right} of the goal's examples right and its checks all pass"
    else:
        why = (
            "no example or agreement told them apart: it got furthest (runs, tests, clean files) "
            "or came first"
        )
    return best, table, why
