"""One goal and try: the agent (or the plain baseline) in a fresh empty folder, then the goal's
hidden acceptance tests in a copy of what it produced. A `Worker` holds what every task of a run
shares (the options, a provider, the sandbox policy) and turns a task into its record."""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path
from typing import Any

from .. import sandbox
from ..fresh import candidates
from ..loop.config import AgentConfig, default_time_limit
from ..project.workspace import Workspace
from ..providers.base import Settings
from ..sandbox import tree
from ..state import Store, Usage
from .cap import Capped, Slots
from .goal import Goal
from .judge import judge
from .options import DEFAULT_STEPS, BenchOptions, Task


@dataclasses.dataclass(frozen=True)
class Place:
    """Where a record was made, the same fields on a cluster and off it: the node (a Ray node's
    id; "local" off a cluster), its host (the node's address, or this machine's name) and the
    worker's number in the run."""

    node: str = "local"
    host: str = dataclasses.field(default_factory=socket.gethostname)
    worker: int = 0


class Worker:
    """Runs tasks one at a time with one provider: a local model loads once per worker. The
    driver makes one with jobs=1; a pool makes one per process (`start`), a Ray cluster one per
    actor (ray_pool.py)."""

    def __init__(
        self,
        options: BenchOptions,
        suite: str,
        out: Path,
        provider: Any,
        policy: sandbox.Sandbox,
        store: Store | None = None,
        place: Place | None = None,
    ) -> None:
        self.options, self.suite, self.out = options, suite, out
        self.provider, self.policy, self.store = provider, policy, store
        self.place = place or Place()

    @classmethod
    def start(
        cls,
        options: BenchOptions,
        suite: str,
        out: Path,
        policy: sandbox.Sandbox,
        threads: int | None = None,
        place: Place | None = None,
        slots: Slots | None = None,
    ) -> Worker:
        """A worker with its own provider, for a process of its own; a local model there uses
        `threads` CPU threads; with `slots`, each model call waits for one (cap.py)."""
        store = open_store(options)
        provider = make_provider(options, threads, store)
        if slots is not None:
            provider = Capped(provider, slots)
        return cls(options, suite, out, provider, policy, store, place)

    def run(self, task: Task) -> dict[str, Any]:
        """The record of one goal and try, saying where it ran."""
        start = time.monotonic()
        try:
            return self._run(task, start)
        # Deliberately blind: one goal's failure (a tree left that cannot be removed, a bug of
        # ours) is that goal's record, status "error"; the bench goes on, and --resume does not
        # stop at it again.
        except Exception as exc:  # noqa: BLE001
            return self._failed(task, start, exc)

    def _run(self, task: Task, start: float) -> dict[str, Any]:
        project = project_dir(self.out, task)
        if project.exists():  # left by an interrupted run: start afresh (however deep it is)
            tree.rmtree(project)
        project.mkdir(parents=True)
        settings = Settings(
            temperature=self.options.sampling_temperature,
            max_tokens=self.options.reply_tokens,
            seed=self.options.seed + task.attempt,
        )
        made = self._plain if self.options.plain else self._agent
        outcome = made(task.goal, project, settings)
        try:
            passed, judge_s, judged = judge(project, task.goal, self.policy)
        except OSError as exc:  # the project holds a folder where an acceptance file goes...
            passed, judge_s, judged = False, 0.0, f"the judge could not run: {_line(exc)}"
        wall, model_s = time.monotonic() - start, outcome["model_s"]
        return {
            "suite": self.suite,
            "goal": task.goal.name,
            "try": task.attempt,
            "model": self.provider.name,
            "passed": passed,
            **outcome,
            "wall_s": round(wall, 3),
            "model_s": round(model_s, 3),
            "harness_s": round(wall - model_s, 3),
            "judge_s": round(judge_s, 3),
            "judge_output": judged,
        } | dataclasses.asdict(self.place)

    def _failed(self, task: Task, start: float, exc: Exception) -> dict[str, Any]:
        """The record of a task that could not run to its end: failed, saying why in one line."""
        wall = round(time.monotonic() - start, 3)
        zeros = dict.fromkeys(
            ("steps", "model_calls", "cache_hits", "prompt_tokens", "completion_tokens"), 0
        )
        return {
            "suite": self.suite,
            "goal": task.goal.name,
            "try": task.attempt,
            "model": self.provider.name,
            "tool_mode": getattr(self.provider, "tool_mode", ""),
            "passed": False,
            "status": "error",
            **zeros,
            "malformed_actions": 0,
            "cost_usd": 0.0,
            "wall_s": wall,
            "model_s": 0.0,
            "harness_s": wall,
            "judge_s": 0.0,
            "judge_output": "",
            "error": f"{type(exc).__name__}: {_line(exc)}",
        } | dataclasses.asdict(self.place)

    def _plain(self, goal: Goal, project: Path, settings: Settings) -> dict[str, Any]:
        """The baseline the loop must beat: one chat turn, the first code block becomes main.py."""
        error = ""
        try:
            reply = self.provider.complete([{"role": "user", "content": goal.plain}], [], settings)
            code = goal.preamble + candidates.extract(reply.raw)
            Workspace(project).write("main.py", code, fmt=False)
        # Deliberately blind: whatever the model call or the write raised, the record says why
        # and the next goal runs.
        except Exception as exc:  # noqa: BLE001
            reply, error = None, f"the model call failed: {type(exc).__name__}: {exc}"
        usage = reply.usage if reply else Usage()
        return {
            "tool_mode": "plain",
            "status": "error" if error else "plain",
            "steps": 1,
            "model_calls": 1,
            "cache_hits": reply.cached if reply else 0,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd,
            "model_s": reply.seconds if reply else 0.0,
            "malformed_actions": int(bool(reply and reply.cut)),
            "error": error,
        }

    def _agent(self, goal: Goal, project: Path, settings: Settings) -> dict[str, Any]:
        """The agent on the goal, as `autocoder run` would run it with these options."""
        from ..loop.agent import Agent

        options = self.options
        steps = 1 if options.single_shot else (options.max_steps or goal.max_steps or DEFAULT_STEPS)
        config = AgentConfig(
            max_steps=steps,
            # as `run` gives it
            time_limit_s=options.timeout_s or goal.timeout_s or default_time_limit(options.model),
            settings=settings,
            samples=1 if options.single_shot else options.candidates,
            plain_start=True,
            policy=self.policy,
        )
        result = Agent(self.provider, Workspace(project), goal.goal, config, store=self.store).run()
        return {
            "tool_mode": result.tool_mode,
            "status": result.status,
            "steps": result.steps,
            "model_calls": result.model_calls,
            "cache_hits": result.cache_hits,
            "prompt_tokens": result.prompt_tokens,
            "completion_tokens": result.completion_tokens,
            "cost_usd": result.cost_usd,
            "model_s": result.model_s,
            "malformed_actions": result.malformed_actions,
            "error": result.reason if result.status in ("error", "malformed") else "",
        }


def _line(exc: BaseException) -> str:
    """An exception's message, on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def project_dir(out: Path, task: Task) -> Path:
    """Where a bench output folder keeps the project of one goal and try."""
    return out / "projects" / task.goal.name / f"try{task.attempt}"


def open_store(options: BenchOptions) -> Any | None:
    """The response cache (replies and observations), unless --no-cache or a cassette replays."""
    if not options.cache or (options.cassette and not options.record):
        return None
    from ..providers.cache import open_cache

    return open_cache()


def make_provider(
    options: BenchOptions, threads: int | None = None, store: Store | None = None
) -> Any:
    """The model, behind the response cache; with --cassette, recorded at the provider boundary,
    or replayed from it without any model, key or network."""
    from ..providers.cassettes import CassetteProvider

    if options.cassette and not options.record:
        return CassetteProvider(None, Path(options.cassette), record=False)
    from ..providers import resolve

    provider = resolve(
        options.model,
        api_base=options.api_base,
        api_key=options.api_key,
        tool_mode=options.tool_mode,
        store=store,
        threads=threads,
    )
    if options.cassette:
        # the key given on the command line is never written into the cassette
        secrets = (options.api_key,)
        provider = CassetteProvider(provider, Path(options.cassette), record=True, secrets=secrets)
    return provider
