"""A fresh start's candidates so far, and how they rank (sampling.py fills it)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..state import Decision
from . import screen, select


@dataclass
class Pool:
    """A fresh start's candidates so far: each one's decision, reply and main.py, the screen of
    each distinct main.py, and the candidates tried in full."""

    made: list[Decision] = field(default_factory=list)
    replies: list[Decision] = field(default_factory=list)
    mains: list[str] = field(default_factory=list)
    seen: dict[str, screen.Screened] = field(default_factory=dict)  # equal code, equal screen
    full: dict[int, select.Trial] = field(default_factory=dict)  # by candidate index

    def add(self, made: Decision, reply: Decision) -> None:
        self.made.append(made)
        self.replies.append(reply)
        self.mains.append(made.args["main"])

    def groups(self) -> Counter[str]:
        """How many candidates behave each way (the screen's behaviour: examples and probes)."""
        return Counter(self.seen[m].behaviour for m in self.mains if self.seen[m].behaviour)

    def right(self, i: int) -> int:
        return self.seen[self.mains[i]].right

    def ranked(self) -> list[int]:
        """Distinct candidates not yet tried in full, best first: examples right, then how many
        candidates behave the same, then the earliest; the first of each behaviour before a
        second of any, so that the few tried in full behave differently."""
        groups = self.groups()
        tried = {self.mains[i] for i in self.full}
        firsts = [self.mains.index(m) for m in dict.fromkeys(self.mains) if m not in tried]
        lead = {self.seen[self.mains[i]].behaviour or f"\0{i}": i for i in reversed(firsts)}
        leads = set(lead.values())

        def rank(i: int) -> tuple[int, int, bool, int, int]:
            s = self.seen[self.mains[i]]
            return (i not in leads, -s.right, s.shaky, -groups.get(s.behaviour, 0), i)

        return sorted(firsts, key=rank)

    def could_win(self, i: int, examples: int, tested: bool) -> bool:
        """Whether candidate i, its trial gone as well as its screen allows, would rank above
        every one tried so far (`examples`: how many the goal states; `tested`: its tests are
        those examples, so they fail on a wrong answer)."""
        if not self.full:
            return True
        trials, groups = self.trials(), self.groups()
        tried = max(select.rank(trials[j], j, groups) for j in self.full)
        seen = self.seen[self.mains[i]]
        right = seen.right == examples  # green needs every example right (none stated: all)
        tests = right or not tested
        files = max(t.python for t in self.full.values())  # every candidate's project has these
        best = (int(right), seen.right, 1, int(tests), files)  # runs, every file clean
        return select.rank(select.Trial(best, seen.behaviour, seen.shaky), i, groups) > tried

    def trials(self) -> list[select.Trial]:
        """Every candidate for select.choose: its screen's behaviour (agreement is counted on
        one measure), and how far it got in full where it was tried so."""
        return [
            select.Trial(
                self.full[i].progress if i in self.full else (0, self.seen[m].right),
                self.seen[m].behaviour,
                self.seen[m].shaky,
            )
            for i, m in enumerate(self.mains)
        ]
