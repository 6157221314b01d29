"""Screening many candidates in one sandboxed process: what each answers, cheaply.

A full trial of a candidate (a scratch copy, ruff, pytest, main.py and the examples, each a
sandboxed process) costs about a second on 2 cores; a fresh start that samples dozens of
candidates would spend more time observing than sampling. The screen writes every distinct
candidate's main.py into a folder of its own and runs them one after another in forks of one
sandboxed tool process (`_tool.py screen`): the goal's examples' answers (and answers to probes
near them, probes.py) when it has examples, else its answers to calls derived from the signature
the goal's words give (probes.derived; each call stopped after PER_CALL seconds), else main.py's
output. That is enough to rank them
(examples right, then agreement); only the best few get a full trial, and a chosen candidate
always has one. Each candidate's answers come back as plain data and are compared here, in
autocoder's process (plain.py); how candidates are kept from spoiling each other's screen is
_screen.py's. The screen is a ranking only: a verdict always comes from a full trial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .. import sandbox
from ..goal import Example
from ..sandbox import plain

PER_CANDIDATE = 5.0  # seconds one candidate may take to answer the examples or run
PER_CALL = 2.0  # seconds one derived call may take (it answers TimeoutError after that)


@dataclass(frozen=True)
class Screened:
    right: int  # the goal's examples it answers right
    behaviour: str  # as select.behaviour: its answers, else its output; "" agrees with nothing
    shaky: bool = False  # see shaky()


def shaky(result: dict) -> bool:
    """Whether a candidate raised on a probe (an input near the examples: an empty list, a
    reversed string...) or gave one answer to every example and probe, as if it ignored its input
    (on HumanEval such candidates answered the examples and failed the hidden tests: `return
    [0.0, 0.25, 0.5, 0.75, 1.0]`, `min(operations) <= 0` on an empty list)."""
    got, probed = result.get("got"), result.get("probes")
    if not isinstance(got, list) or not isinstance(probed, list) or not probed:
        return False
    answers = [str(a) for a in got + probed]
    return any(a.startswith("raised ") for a in answers[len(got) :]) or len(set(answers)) == 1


def behaviour(result: dict, checks: tuple[Example, ...]) -> str:
    """As select.behaviour (its answers to the examples, else its output), and its answers to
    the probes after them; a goal without examples, its answers to the derived calls
    (probes.derived) when it has some."""
    got, probed = result.get("got"), result.get("probes")
    if isinstance(got, list) and got:
        if checks:
            return "\x1f".join(map(str, got + (probed if isinstance(probed, list) else [])))
        if all(str(a).startswith("raised ") for a in got):
            return ""  # raising on every derived call (no such function, say) agrees with none
        return "\x1f".join(map(str, [*got, result.get("output") or ""]))  # and what it printed
    output = result.get("output")
    if not checks and result.get("ok") and isinstance(output, str) and output.strip():
        return f"exit 0\x1f{output}"
    return ""


def screen(
    mains: list[str],
    checks: tuple[Example, ...],
    probes: tuple[str, ...] = (),
    *,
    policy: sandbox.Sandbox,
    derived: tuple[str, ...] = (),
) -> list[Screened] | None:
    """Each main.py's screen, in order: the examples it answers right, and its behaviour (with
    its answers to `probes`, calls near the examples: probes.py; for a goal without examples,
    its answers to the `derived` calls, else its output). Results stream: those a spoiled screen
    (a candidate killed it) did not reach are screened one by one, and a candidate whose own
    screen fails answers nothing."""
    calls = [e.call for e in checks] or list(derived)
    probes = probes if checks else ()
    each = 0.0 if checks else PER_CALL  # a derived call may be outside the function's domain
    done = _together(mains, calls, probes, policy, each)
    for i in range(len(done), len(mains)):
        alone = _together([mains[i]], calls, probes, policy, each) if len(mains) > 1 else []
        done.append(alone[0] if alone else Screened(0, ""))
    return [_read(item, checks) if isinstance(item, dict) else item for item in done]


def _together(
    mains: list[str],
    calls: list[str],
    probes: tuple[str, ...],
    policy: sandbox.Sandbox,
    each: float,
) -> list:
    """What one shared screen reported for each candidate, as far as it got."""
    if not mains:
        return []
    job = {
        "mains": mains,
        "calls": calls,
        "probes": list(probes),
        "timeout": PER_CANDIDATE,
        "each": each,
        "confined": bool(policy.kind()),
    }
    limit = PER_CANDIDATE * len(mains) + 10
    with sandbox.scratch("screen") as tmp:
        result = sandbox.tool(["screen"], tmp, limit, stdin=json.dumps(job), policy=policy)
    results = (result.report or {}).get("results")
    return list(results[: len(mains)]) if isinstance(results, list) else []


def _read(item: dict, checks: tuple[Example, ...]) -> Screened:
    """A candidate's screen from the plain data it sent: compared here, where it never ran."""
    answers = item.get("answers") if isinstance(item.get("answers"), list) else []
    probed = item.get("probes") if isinstance(item.get("probes"), list) else []
    got = [plain.answer(a) for a in answers[:100]]  # the examples', else the derived calls'
    right = sum(plain.matches(a, e.want) for a, e in zip(got, checks, strict=False))
    result = {
        "ok": item.get("ok") is True,
        "got": [plain.shown(a) for a in got],
        "probes": [plain.shown(plain.answer(a)) for a in probed[:100]],
        "output": item.get("output"),
    }
    return Screened(right, behaviour(result, checks), shaky(result))
