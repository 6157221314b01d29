"""Screening many candidates in one sandboxed process: what each answers, cheaply.

A full trial of a candidate (a scratch copy, ruff, pytest, main.py and the examples, each a
sandboxed process) costs about a second on 2 cores; a fresh start that samples dozens of
candidates would spend more time observing than sampling. The screen writes every distinct
candidate's main.py into a folder of its own and runs them one after another in forks of one
sandboxed tool process (`_tool.py screen`): the goal's examples' answers (and answers to probes
near them, probes.py) when it has examples, else main.py's output. That is enough to rank them
(examples right, then agreement); only the best few get a full trial, and a chosen candidate
always has one. Candidates share the sandbox's process here, so one could lie about itself or
spoil a rival's screen: that changes the ranking only, never a verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from . import sandbox
from .examples import Example

PER_CANDIDATE = 5.0  # seconds one candidate may take to answer the examples or run


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
    the probes after them."""
    got, probed = result.get("got"), result.get("probes")
    if checks and isinstance(got, list) and got:
        return "\x1f".join(map(str, got + (probed if isinstance(probed, list) else [])))
    output = result.get("output")
    if not checks and result.get("ok") and isinstance(output, str) and output.strip():
        return f"exit 0\x1f{output}"
    return ""


def screen(
    mains: list[str],
    checks: tuple[Example, ...],
    probes: tuple[str, ...] = (),
    *,
    policy: sandbox.Policy = sandbox.SAFE,
) -> list[Screened] | None:
    """Each main.py's screen, in order: the examples it answers right, and its behaviour (with
    its answers to `probes`, calls near the examples: probes.py); None when the screen itself
    failed."""
    if not mains:
        return []
    with sandbox.scratch("screen") as tmp:
        folders = []
        for i, main in enumerate(mains):
            folder = tmp / f"c{i}"
            folder.mkdir()
            (folder / "main.py").write_text(main, encoding="utf-8")
            folders.append(folder.name)
        job = {
            "folders": folders,
            "checks": [[e.call, e.want] for e in checks],
            "probes": list(probes) if checks else [],
            "timeout": PER_CANDIDATE,
        }
        limit = PER_CANDIDATE * len(mains) + 10
        result = sandbox.tool(["screen"], tmp, limit, stdin=json.dumps(job), policy=policy)
    results = (result.report or {}).get("results")
    if not isinstance(results, list) or len(results) != len(mains):
        return None
    out = []
    for item in results:
        r = item if isinstance(item, dict) else {}
        right = r.get("right")
        right = right if isinstance(right, int) and 0 <= right <= len(checks) else 0
        out.append(Screened(right, behaviour(r, checks), shaky(r)))
    return out
