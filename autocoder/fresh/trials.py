"""Trying a step before it is taken: a decision applied to a scratch copy of the project and
observed there. When the project is then made the same as that copy, the next step reuses the
copy's observation (outputs hold no machine paths, so a copy observes as the project would)."""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import sandbox
from ..actions import Action
from ..actions.plan import Plan
from ..goal import Example
from ..project.observe import observe_cached
from ..project.workspace import PathRefused, Workspace
from ..state import ActionResult, Decision, Observation, Store

REFUSED = (0, -1)  # the progress of a decision that is malformed or cannot apply
# what a run's time limit keeps back, in observations of the project (the longest one yet, at
# least LOOK seconds: an empty project's takes none): when the model stops, the candidates are
# screened, one is tried in full and the project is observed as the run leaves it, all within it
RESERVE, LOOK = 2, 1.5
# (decision, the project before, its trial copy after) -> why it must not be applied, or ""
Guard = Callable[[Decision, Observation | None, Observation | None], str]


def apply(action: Action, ws: Workspace) -> ActionResult:
    """Apply an action; a refusal (bad range, missing text, path outside) is a failed result."""
    try:
        return action.apply(ws)
    except (ValueError, PathRefused, OSError) as exc:
        return ActionResult(False, str(exc))


class Trials:
    """Observations of the project and of trial copies, with the sandbox policy and the store
    that remembers observations of identical files (see observe_cached)."""

    def __init__(
        self,
        ws: Workspace,
        goal_examples: tuple[Example, ...],
        store: Store | None,
        policy: sandbox.Sandbox,
        guard: Guard | None = None,
        names: frozenset[str] = frozenset(),
    ) -> None:
        self.ws, self.examples, self.store, self.policy = ws, goal_examples, store, policy
        self.names = names  # the functions the goal names (project.observe.unnamed)
        self.seen: dict[str, Observation] = {}  # observations of trial copies, by fingerprint
        self.guard = guard  # why a decision must not be applied however far it gets ("" if none)
        self.now: Observation | None = None  # the project as last observed
        self.look_s = 0.0  # the longest observation yet, in seconds

    def reserve(self) -> float:
        """The seconds a run keeps back from its time limit for what follows the model's last
        reply (RESERVE)."""
        return RESERVE * max(self.look_s, LOOK)

    def observe(self) -> Observation:
        """The project now: a trial's observation of exactly these files, else a fresh one."""
        seen = self.seen.pop(self.ws.fingerprint(), None) if self.seen else None
        self.seen.clear()
        self.now = seen if seen is not None else self.look(self.ws)
        return self.now

    def look(self, ws: Workspace) -> Observation:
        start = time.monotonic()
        seen = observe_cached(ws, self.store, self.examples, policy=self.policy, names=self.names)
        self.look_s = max(self.look_s, time.monotonic() - start)
        return seen

    def attempt(self, decision: Decision, todo: Plan) -> Observation | None:
        """The observation of a scratch copy with the decision applied; None when it cannot
        apply."""
        with sandbox.scratch("trial") as tmp:
            scratch = self.ws.copy_to(tmp / "project")
            if not apply(todo.action(decision.action).model_validate(decision.args), scratch).ok:
                return None
            obs = self.look(scratch)
            self.seen[scratch.fingerprint()] = obs  # the next step's, if this one is applied
            return obs

    def score(self, decision: Decision, todo: Plan) -> tuple[int, ...]:
        """How far a decision gets when applied to a scratch copy of the project."""
        if decision.error or todo.refusal(decision):
            return REFUSED
        obs = self.attempt(decision, todo)
        if obs is None:
            return (0, 0)
        if self.guard is not None and self.guard(decision, self.now, obs):
            return REFUSED  # it would lose the goal, however far it gets
        return obs.progress()

    def forget(self) -> None:
        self.seen.clear()
