"""A bench goal: the text the agent gets and the acceptance files it never sees. Its own module
so that every source of goals (a suite folder, HumanEval) builds them without importing another."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..fresh.candidates import ASK

PLAIN_ASK = ASK  # the plain call's ask, the same as a fresh start's (candidates.py)


@dataclass(frozen=True)
class Goal:
    """One goal: what the agent is asked, and what judges the project it leaves."""

    name: str
    goal: str  # the text given to the agent
    files: dict[str, bytes] = field(default_factory=dict)  # acceptance files: name -> bytes
    max_steps: int | None = None
    timeout_s: float | None = None
    plain_prompt: str = ""  # the one chat turn of `bench --plain`; default: the goal + PLAIN_ASK
    preamble: str = ""  # what --plain puts before the reply's code in main.py (HumanEval: imports)

    @property
    def plain(self) -> str:
        """The one chat turn of `bench --plain`."""
        return self.plain_prompt or self.goal + PLAIN_ASK
