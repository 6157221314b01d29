"""The ReAct loop: observe the project, ask the model for one action, apply it, record the step.

Its policies are collaborators: the Planner (what to ask next, fresh starts when stuck), the
Sampler (candidates chosen by execution), Trials (a step tried in a scratch copy before it is
taken) and, with --allow-install, the Installer."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._version import __version__
from ..actions import Finish
from ..actions.plan import Plan
from ..exceptions import Done, Interrupted, LimitsExceeded, Stalled, StopRun, TooManyMalformed
from ..fresh.sampling import Sampler, call
from ..fresh.trials import Trials, apply
from ..goal.brief import Brief
from ..project.packages import Installer
from ..project.workspace import Workspace
from ..providers.base import Provider
from ..state import ActionResult, Decision, Observation, RunResult, Step, Store, Usage
from . import ATTEMPTS, PATIENCE, guard
from .config import AgentConfig
from .hooks import Hooks, Silent
from .planner import Planner
from .prompt import messages
from .streaks import Streaks

MALFORMED_LIMIT = 3  # malformed replies in a row that end the run
RETRY_TEMPERATURE = 0.7  # once an attempt failed, sample instead of repeating the same answer


class Agent:
    """Runs one goal on one workspace with one provider until done, out of budget or stopped.
    `store` remembers observations of identical files (the response cache's; None: none)."""

    def __init__(
        self,
        provider: Provider,
        workspace: Workspace,
        goal: str,
        config: AgentConfig | None = None,
        *,
        hooks: Hooks | None = None,
        confirm: Callable[[int], bool] | None = None,
        store: Store | None = None,
    ) -> None:
        self.provider, self.ws, self.goal = provider, workspace, goal
        self.config = config = config or AgentConfig()
        self.codec = provider.codec  # how actions reach the model: it shapes the prompt
        self.hooks = hooks or Silent()
        self.confirm = confirm  # step mode: asked before each step; False quits
        self.steps: list[Step] = []
        self.streaks = Streaks()
        self.planner = Planner()
        self.started = 0.0
        self.brief = brief = Brief.read(goal)  # read once: examples, given code, skeleton
        self._off_goal = functools.partial(guard.off_goal, brief)
        self.trials = Trials(
            workspace, brief.examples, store, config.policy, self._off_goal, brief.names
        )
        self.sampler = Sampler(
            provider,
            brief,
            config.settings,
            config.samples,
            self.trials,
            self._left,
            self._record,
            ATTEMPTS,
        )
        self.installer = (
            Installer(workspace.root, config.index_args, config.policy, self._record)
            if config.allow_install
            else None
        )

    # ---- the loop -----------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Step until an exception says stop; the trajectory is on disk after every step."""
        self.started = time.monotonic()
        self.trajectory = self._open_trajectory()
        status, reason = "error", ""
        try:
            while True:
                self.step()
        except StopRun as stop:
            status, reason = stop.status, str(stop)
        except KeyboardInterrupt:
            status, reason = "stopped", "interrupted by the user (Ctrl-C); the project is intact"
        except Exception as exc:  # noqa: BLE001  (a bug of ours: the run still ends with a record)
            status, reason = "error", f"internal error: {type(exc).__name__}: {exc}"
        result = self._result(status, reason)
        final = self.trials.now if status == "done" else self._final()  # finish changes nothing
        if final is not None:  # what the verdict rests on, and where an unfinished run left it
            result = replace(result, evidence=final.evidence())
            if status != "done":  # a time limit or Ctrl-C too: the best version found is left
                result = replace(result, kept=final.verdict())
        elif status != "done":
            result = replace(result, kept="not observed")
        self._record({"type": "result", **result.to_json()})
        self.hooks.on_end(result)
        return result

    def step(self) -> None:
        index, config = len(self.steps) + 1, self.config
        if index > config.max_steps:
            raise LimitsExceeded(f"reached the limit of {config.max_steps} steps")
        if self._left() < 0:
            raise Interrupted(f"reached the wall-clock limit of {config.time_limit_s:.0f} s")
        if self.confirm is not None and not self.confirm(index):
            raise Interrupted("stopped by the user in step mode")
        start = time.monotonic()
        self.ws.snapshot()
        begun = self.ws.newest()  # show's diffs tell each step's change by it
        obs = self.trials.observe()
        if self.installer is not None:
            obs = self.installer.fix(obs, lambda: self.trials.look(self.ws))
        todo = self.planner.next(obs, self.sampler.trusted)
        if todo.phase == "judge" and obs.examples is not None:  # every check passes, the goal's
            # examples among them: they are the verdict's evidence. The model's word is asked
            # only where the goal states none (a small model's is yes to anything, and asking it
            # took three quarters of a README run)
            raise Done(f"every example the goal states is right: {obs.verdict()}")
        self.hooks.on_decide(index, todo.phase)
        score = None  # how far the chosen candidate got in a scratch copy, when it was tried there
        fresh = config.plain_start and todo.phase in ("create", "restart")
        if fresh:  # plain asks of its own: the loop's messages are neither rendered nor sent
            decision, score, msgs = self.sampler.fresh_start(todo, index)
        else:
            msgs = messages(self.goal, obs, todo, self.steps, self.codec)
            if config.samples > 1 and todo.phase != "judge":
                decide = functools.partial(self._decide, msgs, todo, index)  # decide(attempt)
                decision, score = self.sampler.best_of(decide, todo, obs.progress())
            else:
                decision = self._decide(msgs, todo, index)
        self.hooks.on_prompt(index, msgs, decision)
        malformed = bool(decision.error or todo.refusal(decision))
        tried, off = None, ""
        if not malformed and decision.action != Finish.name:
            if score is None and not obs.empty:  # every step is tried before it is taken (one
                tried = self.trials.attempt(decision, todo)  # that cannot apply fails as it
                score = None if tried is None else tried.progress()  # would here)
            if not fresh:  # a fresh start's candidates were asked plainly, never shown an example
                off = self._off_goal(decision, obs, tried)
        if off:
            result, finished = self._refuse(off), False
        elif score is not None and not obs.empty and not malformed and score < obs.progress():
            result, finished = self._keep(score, obs.progress()), False
        else:
            result, finished = self._act(decision, todo)
        seconds = time.monotonic() - start
        step = Step(index, todo.phase, obs.summary(), decision, result, seconds, begun)
        self.steps.append(step)
        self._record(step.to_json())
        self.hooks.on_step(step)
        if finished:  # facts, not its words: a small model parrots the prompt's worked example
            raise Done(f"the model judged the goal met: {obs.verdict()}")
        if self.streaks.malformed_in_row >= MALFORMED_LIMIT:
            raise TooManyMalformed(
                f"{MALFORMED_LIMIT} malformed replies in a row: {decision.error}"
            )
        if todo.phase != "judge" and not malformed:  # a judgement, a bad reply: not a repair
            moved = result.ok and score is not None and score > obs.progress()
            self._measure(todo.phase in ("create", "restart"), fresh, moved)

    def _measure(self, start: bool, fresh: bool, moved: bool) -> None:
        """On a goal stating examples, repairs get what sampling leaves while they have value: a
        fresh start that spent its sampling unmet (Sampler.spent), or PATIENCE repairs in a row
        that did not move the project, end the run (docs/how-a-run-works.md); else they go on."""
        if not self.brief.examples:
            return
        if start and fresh and self.sampler.spent:
            raise Stalled(f"{self.sampler.spent}; repairs of such a start rarely meet them")
        self.streaks.idle_in_row = 0 if start or moved else self.streaks.idle_in_row + 1
        if self.streaks.idle_in_row >= PATIENCE:
            raise Stalled(f"{PATIENCE} repair steps in a row did not move the project")

    def _final(self) -> Observation | None:
        """The project as the run leaves it: never-regress kept the best version it found."""
        try:
            return self.trials.observe()
        except Exception:  # noqa: BLE001  (the run's record matters more than this line)
            return None

    def _left(self) -> float:
        """Seconds left for model calls (below 0: none): the time limit, less what the run keeps
        back to screen and try the last candidates and observe the project (Trials.reserve; at
        most a quarter of the limit), so that the run ends within its limit."""
        limit = self.config.time_limit_s
        return limit - min(self.trials.reserve(), limit / 4) - (time.monotonic() - self.started)

    # ---- decide and act -----------------------------------------------------------------------
    def _decide(
        self, msgs: list[dict[str, str]], todo: Plan, index: int, attempt: int = 0
    ) -> Decision:
        settings = self.config.settings
        if self.streaks.failed_in_row or self.planner.stuck or attempt:
            temperature = max(settings.temperature, RETRY_TEMPERATURE)
            settings = settings.model_copy(update={"temperature": temperature})
        update = {"seed": settings.seed + 1000 * attempt + index, "prefix": self._prefix(todo)}
        update["until"] = time.monotonic() + max(self._left(), 0.0)  # the reply stops there
        return call(self.provider, msgs, todo.actions, settings.model_copy(update=update))

    def _prefix(self, todo: Plan) -> str:
        """When the goal gives code to complete, a fresh main.py begins with it and the model
        continues it, as a completion: a small model that must copy the code first drops
        imports, renames the function or stops at the docstring."""
        if (
            not self.brief.skeleton
            or not self.codec.continues
            or todo.action("create_project") is None
        ):
            return ""
        begun = "Thought: I complete the code the goal gives.\nAction: create_project\nmain:\n"
        return f"{begun}```python\n{self.brief.skeleton}"

    def _refuse(self, why: str) -> ActionResult:
        self.streaks.applied(False)
        self.trials.forget()
        return ActionResult(False, f"not applied: {why}")

    def _keep(self, score: tuple[int, ...], now: tuple[int, ...]) -> ActionResult:
        """Never regress: a step whose best candidate leaves the project behind where it is now
        is not applied (a right answer is never replaced by a worse one)."""
        self.streaks.applied(False)
        self.trials.forget()
        why = f"the project would rank lower afterwards ({list(score)} < {list(now)})"
        return ActionResult(False, f"not applied: {why}")

    def _act(self, decision: Decision, todo: Plan) -> tuple[ActionResult, bool]:
        """Apply a decision unless it is malformed; returns (result, whether the run is done)."""
        error = decision.error or todo.refusal(decision)
        if error:
            self.streaks.malformed()
            return ActionResult(False, error), False
        action = todo.action(decision.action).model_validate(decision.args)
        if isinstance(action, Finish):  # offered only when every check passes (see planner.plan)
            self.streaks.applied(True)
            return ActionResult(True, "goal met"), True
        result = apply(action, self.ws)
        self.streaks.applied(result.ok)
        return result, False

    # ---- records ------------------------------------------------------------------------------
    def _open_trajectory(self) -> Path:
        runs = self.ws.private_dir("runs")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = runs / f"{stamp}.jsonl"
        header = {
            "type": "run",
            "version": __version__,
            "goal": self.goal,
            "model": self.provider.name,
            "tool_mode": self.codec.name,
            "settings": self.config.settings.model_dump(),
            "max_steps": self.config.max_steps,
        }
        path.write_text(json.dumps(header) + "\n", encoding="utf-8")
        return path

    def _record(self, record: dict[str, Any]) -> None:
        with self.trajectory.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")

    def _result(self, status: str, reason: str) -> RunResult:
        ds = [s.decision for s in self.steps]
        usage = sum((d.usage for d in ds), Usage(evaluated_tokens=0))
        return RunResult(
            status=status,  # type: ignore[arg-type]
            reason=reason,
            steps=len(self.steps),
            model_calls=sum(d.calls for d in ds),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            wall_s=time.monotonic() - self.started,
            model_s=sum(d.seconds for d in ds),
            model=self.provider.name,
            project_dir=str(self.ws.root),
            trajectory=str(self.trajectory),
            malformed_actions=self.streaks.malformed_total,
            tool_mode=self.codec.name,
            cache_hits=sum(d.cached for d in ds),
            evaluated_tokens=usage.evaluated_tokens if ds else -1,
            cost_usd=round(usage.cost_usd, 6),
        )
