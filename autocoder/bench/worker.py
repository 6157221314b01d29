"""One goal and try: the agent (or the plain baseline) in a fresh empty folder, then the goal's
hidden acceptance tests in a copy of what it produced. A `Worker` holds what every task of a run
shares (the options, a provider, the sandbox policy) and turns a task into its record."""

from __future__ import annotations

import dataclasses
import shutil
import socket
import time
from pathlib import Path
from typing import Any

from .. import candidates, sandbox
from ..config import default_time_limit
from ..observe import PYTEST_ARGS
from ..workspace import Workspace
from .cap import Capped, Slots
from .goal import Goal
from .options import DEFAULT_STEPS, BenchOptions, Task

JUDGE_TIMEOUT = 120.0


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
        policy: sandbox.Policy,
        store: Any | None = None,
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
        policy: sandbox.Policy,
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
        record = run_task(
            task, self.options, self.suite, self.out, self.provider, self.policy, self.store
        )
        return record | dataclasses.asdict(self.place)


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
    options: BenchOptions, threads: int | None = None, store: Any | None = None
) -> Any:
    """The model, behind the response cache; with --cassette, recorded at the provider boundary,
    or replayed from it without any model, key or network."""
    from ..cassettes import CassetteProvider

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


def run_plain(
    task: Task,
    options: BenchOptions,
    suite: str,
    project: Path,
    provider: Any,
    policy: sandbox.Policy,
) -> dict[str, Any]:
    """The baseline the loop must beat: one chat turn, the first code block becomes main.py."""
    from ..providers import Settings

    goal, start = task.goal, time.monotonic()
    settings = Settings(
        temperature=options.sampling_temperature,
        max_tokens=options.max_tokens,
        seed=options.seed + task.attempt,
    )
    error = ""
    try:
        reply = provider.complete([{"role": "user", "content": goal.plain}], [], settings)
        Workspace(project).write(
            "main.py", goal.preamble + candidates.extract(reply.raw), fmt=False
        )
    # Deliberately blind: whatever the model call or the write raised, the record says why and
    # the next goal runs.
    except Exception as exc:  # noqa: BLE001
        reply, error = None, f"the model call failed: {type(exc).__name__}: {exc}"
    model_s = reply.seconds if reply else 0.0
    passed, judge_s, judged = judge(project, goal, policy)
    wall = time.monotonic() - start
    usage = reply.usage if reply else None
    return {
        "suite": suite,
        "goal": goal.name,
        "try": task.attempt,
        "model": provider.name,
        "tool_mode": "plain",
        "passed": passed,
        "status": "error" if error else "plain",
        "steps": 1,
        "model_calls": 1,
        "cache_hits": reply.cached if reply else 0,
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "completion_tokens": usage.completion_tokens if usage else 0,
        "cost_usd": usage.cost_usd if usage else 0.0,
        "wall_s": round(wall, 3),
        "model_s": round(model_s, 3),
        "harness_s": round(wall - model_s, 3),
        "judge_s": round(judge_s, 3),
        "malformed_actions": int(bool(reply and reply.cut)),
        "error": error,
        "judge_output": judged,
    }


def run_task(
    task: Task,
    options: BenchOptions,
    suite: str,
    out: Path,
    provider: Any,
    policy: sandbox.Policy,
    store: Any | None = None,
) -> dict[str, Any]:
    """The agent on one goal and try, then the acceptance tests; returns the record."""
    from ..agent import Agent
    from ..config import AgentConfig
    from ..providers import Settings

    goal, start = task.goal, time.monotonic()
    project = project_dir(out, task)
    if project.exists():  # left by an interrupted run: start afresh
        shutil.rmtree(project)
    project.mkdir(parents=True)
    if options.plain:
        return run_plain(task, options, suite, project, provider, policy)
    settings = Settings(
        temperature=options.sampling_temperature,
        max_tokens=options.max_tokens,
        seed=options.seed + task.attempt,
    )
    steps = 1 if options.single_shot else (options.max_steps or goal.max_steps or DEFAULT_STEPS)
    config = AgentConfig(
        max_steps=steps,
        # as `run` gives it
        time_limit_s=options.timeout_s or goal.timeout_s or default_time_limit(options.model),
        settings=settings,
        samples=1 if options.single_shot else options.samples,
        plain_start=True,
        policy=policy,
    )
    agent = Agent(provider, Workspace(project), goal.goal, config, store=store)
    result = agent.run()
    passed, judge_s, judged = judge(project, goal, policy)
    wall = time.monotonic() - start
    error = result.reason if result.status in ("error", "malformed") else ""
    return {
        "suite": suite,
        "goal": goal.name,
        "try": task.attempt,
        "model": provider.name,
        "tool_mode": result.tool_mode,
        "passed": passed,
        "status": result.status,
        "steps": result.steps,
        "model_calls": result.model_calls,
        "cache_hits": result.cache_hits,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "cost_usd": result.cost_usd,
        "wall_s": round(wall, 3),
        "model_s": round(result.model_s, 3),
        "harness_s": round(wall - result.model_s, 3),
        "judge_s": round(judge_s, 3),
        "malformed_actions": result.malformed_actions,
        "error": error,
        "judge_output": judged,
    }


def judge(
    project: Path, goal: Goal, policy: sandbox.Policy = sandbox.SAFE
) -> tuple[bool, float, str]:
    """Copy the produced project, add the acceptance files, run pytest on them in the sandbox.
    The agent's folder never holds them; pass means pytest exits 0."""
    start = time.monotonic()
    if not (project / "main.py").is_file():
        return False, 0.0, "no main.py"
    with sandbox.scratch("judge") as tmp:
        copy = Workspace(project).copy_to(tmp / "project")
        for rel in copy.files():  # the project's own pytest hooks never judge it
            if rel.rsplit("/", 1)[-1] == "conftest.py":
                copy.delete(rel)
        for name, data in goal.files.items():
            (copy.root / name).write_bytes(data)
        tests = [f"./{n}" for n in goal.files if n.endswith(".py") and n != "conftest.py"]
        result = sandbox.tool(
            ["pytest", *PYTEST_ARGS, "--tb=line", *tests],
            copy.root,
            JUDGE_TIMEOUT,
            policy=policy,
        )
    tail = "" if result.ok else sandbox.cap(result.output, 600)
    return result.ok, time.monotonic() - start, tail
