"""The ReAct loop: observe the project, ask the model for one action, apply it, record the step."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from . import __version__, candidates, examples, packages, sandbox, select
from .actions import Action, Finish
from .exceptions import (
    Done,
    Interrupted,
    LimitsExceeded,
    ModelFailed,
    StopRun,
    TooManyMalformed,
)
from .observe import observe_cached
from .prompt import Plan, messages, plan, restart, tests_only
from .providers.base import Provider, Settings
from .state import ActionResult, Decision, Observation, RunResult, Step, Usage
from .textformat import FormatError, validate_args
from .workspace import PathRefused, Workspace

MALFORMED_LIMIT = 3  # malformed replies in a row that end the run
STUCK_LIMIT = 3  # steps in one fix phase before starting the project afresh
RETRY_TEMPERATURE = 0.7  # once an attempt failed, sample instead of repeating the same answer


class Hooks(Protocol):
    """How a front end follows a run: progress after each step, and step mode's pause."""

    def on_decide(self, index: int, phase: str) -> None: ...
    def on_step(self, step: Step) -> None: ...
    def on_prompt(self, step: int, msgs: list[dict[str, str]], decision: Decision) -> None: ...
    def on_end(self, result: RunResult) -> None: ...


class _Silent:
    def on_decide(self, index: int, phase: str) -> None:
        pass

    def on_step(self, step: Step) -> None:
        pass

    def on_prompt(self, step: int, msgs: list[dict[str, str]], decision: Decision) -> None:
        pass

    def on_end(self, result: RunResult) -> None:
        pass


def _apply(action: Action, ws: Workspace) -> ActionResult:
    """Apply an action; a refusal (bad range, missing text, path outside) is a failed result."""
    try:
        return action.apply(ws)
    except (ValueError, PathRefused, OSError) as exc:
        return ActionResult(False, str(exc))


class Agent:
    """Runs one goal on one workspace with one provider until done, out of budget or stopped."""

    def __init__(
        self,
        provider: Provider,
        workspace: Workspace,
        goal: str,
        *,
        max_steps: int = 25,
        time_limit_s: float = 1800.0,
        settings: Settings = Settings(),
        samples: int = 1,
        hooks: Hooks | None = None,
        confirm: Callable[[int], bool] | None = None,
        memo: Any | None = None,
        allow_install: bool = False,
        index_args: list[str] | None = None,
        plain_start: bool = False,
        policy: sandbox.Policy = sandbox.SAFE,
    ) -> None:
        self.provider, self.ws, self.goal = provider, workspace, goal
        self.codec = provider.codec  # how actions reach the model: it shapes the prompt (modes.py)
        self.max_steps, self.time_limit_s, self.settings = max_steps, time_limit_s, settings
        self.samples = samples  # candidates tried per step before one is applied (not when judging)
        self.hooks = hooks or _Silent()
        self.confirm = confirm  # step mode: asked before each step; False quits
        self.steps: list[Step] = []
        self.malformed_in_row = 0
        self.malformed_total = 0
        self.failed_in_row = 0
        self.stuck = 0  # steps in a row that met the same unsolved problem
        self.last_phase = ""
        self.started = 0.0
        self.trials: dict[str, Observation] = {}  # observations of trial copies, by fingerprint
        self.policy = policy  # how the project's code runs (sandbox.require gives it)
        self.memo = memo  # the response cache's store: observations of identical projects (see observe_cached)
        self.allow_install = (
            allow_install  # pip-install what the code imports, into the project's .venv
        )
        self.index_args = (
            index_args or []
        )  # extra pip arguments (tests: a local wheel folder, no index)
        self.examples = examples.extract(goal)  # the goal's own examples, checked like tests
        self.skeleton = examples.skeleton(
            goal
        )  # code the goal gives to complete: main.py starts with it
        self.install_tried: set[str] = (
            set()
        )  # each module once: a name that does not exist is not retried
        # fresh starts sample `samples` plain chat turns and choose by execution (candidates.py, select.py)
        self.plain_start = plain_start
        self.given = examples.given(goal)  # code the goal gives, for the plain "complete this" ask
        self.trusted = (
            ""  # how the main.py chosen on the goal's examples or by agreement behaves: while
        )
        # main.py still behaves so, failing tests are rewritten, not main.py

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
        except (
            Exception
        ) as exc:  # a bug of ours: the run still ends with a record, not a lost trajectory
            status, reason = "error", f"internal error: {type(exc).__name__}: {exc}"
        result = self._result(status, reason)
        if status not in ("done", "stopped"):
            result = replace(result, kept=self._kept())
        self._record({"type": "result", **result.to_json()})
        self.hooks.on_end(result)
        return result

    def step(self) -> None:
        index = len(self.steps) + 1
        if index > self.max_steps:
            raise LimitsExceeded(f"reached the limit of {self.max_steps} steps")
        if self._out_of_time():
            raise Interrupted(f"reached the wall-clock limit of {self.time_limit_s:.0f} s")
        if self.confirm is not None and not self.confirm(index):
            raise Interrupted("stopped by the user in step mode")
        start = time.monotonic()
        self.ws.snapshot()
        obs = self._observe()
        if self.allow_install:
            obs = self._install(obs)
        todo = self._plan(obs)
        msgs = messages(self.goal, obs, todo, self.steps, self.codec)
        self.hooks.on_decide(index, todo.phase)
        score = None  # how far the chosen candidate got in a scratch copy, when it was tried there
        if self.plain_start and todo.phase in ("create", "restart"):
            decision, score = self._fresh_start(todo, index)
        elif self.samples > 1 and todo.phase != "judge":
            decision, score = self._best_of(msgs, todo, index, obs.progress())
        else:
            decision = self._decide(msgs, todo, index)
        self.hooks.on_prompt(index, msgs, decision)
        malformed = bool(decision.error or self._check(decision, todo))
        if score is None and not malformed and not obs.empty and decision.action != Finish.name:
            tried = self._try(decision, todo)  # every step is tried before it is applied (one that
            score = None if tried is None else tried.progress()  # cannot apply fails as it would)
        if score is not None and not obs.empty and not malformed and score < obs.progress():
            result, finished = self._keep(score, obs.progress()), False
        else:
            result, finished = self._act(decision, todo)
        step = Step(index, todo.phase, obs.summary(), decision, result, time.monotonic() - start)
        self.steps.append(step)
        self._record(step.to_json())
        self.hooks.on_step(step)
        if finished:
            raise Done(
                f"the model judged the goal met: {obs.verdict()}"
            )  # facts, not its words: a small model
            # parrots the prompt's worked example ("prints the five squares"); its reason stays in the trajectory
        if self.malformed_in_row >= MALFORMED_LIMIT:
            raise TooManyMalformed(
                f"{MALFORMED_LIMIT} malformed replies in a row: {decision.error}"
            )

    def _kept(self) -> str:
        """What the project holds now: never-regress kept the best version the run found."""
        try:
            return self._observe().verdict()
        except Exception as exc:  # the run's record matters more than this line
            return f"not observed ({type(exc).__name__})"

    def _out_of_time(self) -> bool:
        return time.monotonic() - self.started > self.time_limit_s

    # ---- decide and act -----------------------------------------------------------------------
    def _plan(self, obs: Observation) -> Plan:
        todo = plan(obs)
        self.stuck = (
            self.stuck + 1 if todo.phase == self.last_phase and todo.phase != "judge" else 0
        )
        self.last_phase = todo.phase
        if self.stuck and self.stuck % STUCK_LIMIT == 0:
            return restart()
        if todo.phase == "fix_tests" and self.trusted and select.behaviour(obs) == self.trusted:
            return tests_only(obs)
        return todo

    def _decide(
        self, msgs: list[dict[str, str]], todo: Plan, index: int, attempt: int = 0
    ) -> Decision:
        settings = self.settings
        if self.failed_in_row or self.stuck or attempt:
            temperature = max(settings.temperature, RETRY_TEMPERATURE)
            settings = settings.model_copy(update={"temperature": temperature})
        update = {"seed": settings.seed + 1000 * attempt + index, "prefix": self._prefix(todo)}
        settings = settings.model_copy(update=update)
        try:
            return self.provider.complete(msgs, todo.actions, settings)
        except StopRun:
            raise
        except Exception as exc:  # a provider failure ends the run with a clear reason
            raise ModelFailed(f"the model call failed: {type(exc).__name__}: {exc}") from exc

    def _prefix(self, todo: Plan) -> str:
        """When the goal gives code to complete, a fresh main.py begins with it and the model
        continues it, as a completion: a small model that must copy the code first drops
        imports, renames the function or stops at the docstring."""
        if not self.skeleton or not self.codec.continues or todo.action("create_project") is None:
            return ""
        return f"Thought: I complete the code the goal gives.\nAction: create_project\nmain:\n```python\n{self.skeleton}"

    def _keep(self, score: tuple[int, ...], now: tuple[int, ...]) -> ActionResult:
        """Never regress: a step whose best candidate leaves the project behind where it is now is
        not applied (a right answer is never replaced by a worse one)."""
        self.failed_in_row += 1
        self.trials.clear()
        return ActionResult(
            False,
            f"not applied: the project would rank lower afterwards ({list(score)} < {list(now)})",
        )

    def _fresh_start(self, todo: Plan, index: int) -> tuple[Decision, tuple[int, ...]]:
        """Sample plain chat turns (the first greedy, the rest at SAMPLE_TEMPERATURE), make each a
        project (its code as main.py, the goal's examples as tests), try each in a scratch copy and
        choose by execution. Every candidate's score and the reason for the choice are recorded."""
        asked = candidates.ask(self.goal, self.given)
        made, trials = [], []
        usage, seconds, cached = Usage(evaluated_tokens=0), 0.0, 0
        for k in range(self.samples):
            # the first fresh start's first candidate is the greedy plain call; a restart samples all
            hot = (
                max(self.settings.temperature, candidates.SAMPLE_TEMPERATURE)
                if k or index > 1
                else self.settings.temperature
            )
            seed = (
                self.settings.seed + k + 1000 * (index - 1)
            )  # a restart asks for other candidates
            update = {"temperature": hot, "seed": seed, "prefix": "", "stop": candidates.STOP}
            settings = self.settings.model_copy(update=update)
            try:
                reply = self.provider.complete(asked, [], settings)
            except StopRun:
                raise
            except Exception as exc:
                raise ModelFailed(f"the model call failed: {type(exc).__name__}: {exc}") from exc
            usage, seconds, cached = (
                usage + reply.usage,
                seconds + reply.seconds,
                cached + reply.cached,
            )
            main = candidates.normalize(candidates.code(reply.raw), self.given, self.examples)
            args = {"main": main, "test": candidates.first_tests(self.examples)}
            made.append(
                Decision(
                    thought=f"candidate {k + 1} of {self.samples}",
                    action=todo.actions[0].name,
                    args=args,
                    raw=reply.raw,
                )
            )
            trials.append(select.Trial.of(self._try(made[-1], todo)))
            if (
                self.examples
                and trials[-1].progress[0]
                and trials[-1].progress[1] == len(self.examples)
            ):
                break  # green and every example right: no later candidate can beat it on the facts
            if self._out_of_time():
                break  # the run's time is up: choose among those made
        chosen, table, why = select.choose(trials)
        row = table[chosen]
        self.trusted = trials[chosen].behaviour if row["examples_right"] or row["agree"] > 1 else ""
        self._record(
            {"type": "select", "step": index, "candidates": table, "chosen": chosen, "why": why}
        )
        decision = replace(
            made[chosen],
            usage=usage,
            seconds=seconds,
            calls=len(made),
            cached=cached,
            thought=f"chose candidate {chosen + 1} of {len(made)}: {why}",
        )
        return decision, trials[chosen].progress

    def _best_of(
        self, msgs: list[dict[str, str]], todo: Plan, index: int, now: tuple[int, ...]
    ) -> tuple[Decision, tuple[int, ...]]:
        """Sample up to `samples` candidates, each tried in a scratch copy; keep the first that gets
        the project further than `now` (all green for a fresh start), else the best one. A small
        model's samples differ a lot: one of several is far likelier to work than one repaired
        many times."""
        fresh = todo.phase in ("create", "restart")
        best, best_score = None, None
        usage, seconds, cached = Usage(evaluated_tokens=0), 0.0, 0
        for attempt in range(self.samples):
            candidate = self._decide(msgs, todo, index, attempt)
            usage, seconds, cached = (
                usage + candidate.usage,
                seconds + candidate.seconds,
                cached + candidate.cached,
            )
            score = self._trial(candidate, todo)
            if best_score is None or score > best_score:
                best, best_score = candidate, score
            if score[0] or (not fresh and score > now) or self._out_of_time():
                break
        assert best is not None and best_score is not None
        return replace(
            best, usage=usage, seconds=seconds, calls=attempt + 1, cached=cached
        ), best_score

    def _trial(self, decision: Decision, todo: Plan) -> tuple[int, ...]:
        """How far a decision gets when applied to a scratch copy of the project."""
        if decision.error or self._check(decision, todo):
            return (0, -1)
        obs = self._try(decision, todo)
        return (0, 0) if obs is None else obs.progress()

    def _try(self, decision: Decision, todo: Plan) -> Observation | None:
        """The observation of a scratch copy with the decision applied; None when it cannot apply."""
        with sandbox.scratch("trial") as tmp:
            scratch = self.ws.copy_to(tmp / "project")
            if not _apply(todo.action(decision.action).model_validate(decision.args), scratch).ok:
                return None
            obs = observe_cached(scratch, self.memo, self.examples, policy=self.policy)
            self.trials[scratch.fingerprint()] = (
                obs  # the next step's observation, if this one is applied
            )
            return obs

    def _install(self, obs: Observation) -> Observation:
        """Install the modules the code failed to import (each tried once), then look again; a
        failure is told to the model in the run's output, as a problem to work around."""
        names = [m for m in packages.missing(obs) if m not in self.install_tried]
        if not names:
            return obs
        self.install_tried.update(names)
        result = packages.install(self.ws.root, names, self.index_args, policy=self.policy)
        dists = [packages.distribution(m) for m in names]
        self._record(
            {
                "type": "install",
                "modules": names,
                "distributions": dists,
                "ok": result.ok,
                "output": sandbox.cap(result.output, 1500),
            }
        )
        if result.ok:
            return observe_cached(self.ws, self.memo, self.examples, policy=self.policy)
        reason = next((ln for ln in result.output.splitlines() if "ERROR" in ln), "pip failed")
        note = f"\n[autocoder could not install {', '.join(dists)}: {reason.strip()[:200]}; do without it]"
        main = obs.main if obs.main is None else replace(obs.main, output=obs.main.output + note)
        return replace(obs, main=main)

    def _observe(self) -> Observation:
        """Observe the project, or reuse a trial's observation of exactly these files (outputs hold
        no machine paths, so a scratch copy observes the same as the project)."""
        seen = self.trials.pop(self.ws.fingerprint(), None) if self.trials else None
        self.trials.clear()
        if seen is not None:
            return seen
        return observe_cached(self.ws, self.memo, self.examples, policy=self.policy)

    def _act(self, decision: Decision, todo: Plan) -> tuple[ActionResult, bool]:
        """Apply a decision unless it is malformed; returns (result, whether the run is done)."""
        error = decision.error or self._check(decision, todo)
        if error:
            self.malformed_total += 1
            self.malformed_in_row += 1
            self.failed_in_row += 1
            return ActionResult(False, error), False
        self.malformed_in_row = 0
        action = todo.action(decision.action).model_validate(decision.args)
        if isinstance(action, Finish):  # offered only when every check passes (see prompt.plan)
            return ActionResult(True, "goal met"), True
        result = _apply(action, self.ws)
        self.failed_in_row = 0 if result.ok else self.failed_in_row + 1
        return result, False

    def _check(self, decision: Decision, todo: Plan) -> str:
        action = todo.action(decision.action)
        if action is None:
            names = ", ".join(a.name for a in todo.actions)
            return f"action {decision.action!r} is not available now; choose one of: {names}"
        try:
            validate_args(action, decision.args)
        except FormatError as exc:
            return str(exc)
        return ""

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
            "settings": self.settings.model_dump(),
            "max_steps": self.max_steps,
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
            malformed_actions=self.malformed_total,
            tool_mode=self.codec.name,
            cache_hits=sum(d.cached for d in ds),
            evaluated_tokens=usage.evaluated_tokens if ds else -1,
            cost_usd=round(usage.cost_usd, 6),
        )
