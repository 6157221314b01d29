"""Run a suite: the agent on every goal (and try) in a fresh empty folder, then the goal's hidden
acceptance tests in a copy of what it produced; one JSON record per goal and try."""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .. import __version__, candidates, sandbox
from ..config import default_time_limit
from ..exceptions import AutocoderError
from ..observe import PYTEST_ARGS
from ..workspace import Workspace
from .suite import Goal, Suite

RECORDS, MANIFEST = "records.jsonl", "manifest.json"
JUDGE_TIMEOUT = 120.0
DEFAULT_STEPS = 20


class BenchOptions(BaseModel):
    """How to run a suite; the same options make the same records (with the cache or a cassette)."""

    model_config = ConfigDict(extra="forbid")

    model: str = "smollm2"
    api_base: str | None = None
    api_key: str | None = Field(None, exclude=True, repr=False)  # never in a manifest or a record
    tool_mode: str = "auto"
    cache: bool = True
    tries: int = Field(1, ge=1, le=100)
    jobs: int = Field(1, ge=1, le=64)
    single_shot: bool = False
    plain: bool = False  # the baseline: one plain chat turn per goal, its code block as main.py
    samples: int = Field(4, ge=1, le=16)
    max_steps: int | None = Field(None, ge=1)  # default: the goal's, else DEFAULT_STEPS
    temperature: float | None = Field(None, ge=0, le=2)  # default: 0 for one try, 0.7 for several
    max_tokens: int = Field(1024, ge=16)
    timeout_s: float | None = Field(
        None, gt=0
    )  # default: the goal's, else run's (180 s embedded, 1800 s others)
    seed: int = 0
    unsafe: bool = False
    cassette: str | None = None  # record or replay every model call (see cassettes.py)
    record: bool = False

    @property
    def mode(self) -> str:
        return "plain" if self.plain else "single-shot" if self.single_shot else "agent"

    @property
    def sampling_temperature(self) -> float:
        return (
            self.temperature if self.temperature is not None else (0.0 if self.tries == 1 else 0.7)
        )


@dataclass(frozen=True)
class Task:
    goal: Goal
    attempt: int  # the try, from 0


# ---- one goal ---------------------------------------------------------------------------------
_provider: Any = None  # one per process: a local model loads once per worker


def _get_provider(options: BenchOptions) -> Any:
    global _provider
    if _provider is None:
        _provider = make_provider(options)
    return _provider


def make_provider(options: BenchOptions) -> Any:
    """The model, behind the response cache; with --cassette, recorded at the provider boundary,
    or replayed from it without any model, key or network."""
    from ..cassettes import CassetteProvider, add_secret

    add_secret(options.api_key)  # never written into a cassette
    if options.cassette and not options.record:
        return CassetteProvider(None, Path(options.cassette), record=False)
    from ..providers import resolve

    provider = resolve(
        options.model,
        api_base=options.api_base,
        api_key=options.api_key,
        tool_mode=options.tool_mode,
        cache=options.cache,
    )
    if options.cassette:
        provider = CassetteProvider(provider, Path(options.cassette), record=True)
    return provider


def _worker_init(options: BenchOptions, threads: int) -> None:
    os.environ["AUTOCODER_THREADS"] = str(
        threads
    )  # jobs share the cores instead of fighting for them
    sandbox.require(options.unsafe)


def run_plain(
    task: Task, options: BenchOptions, suite: str, project: Path, provider: Any
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
    except Exception as exc:  # the record says why; the next goal runs
        reply, error = None, f"the model call failed: {type(exc).__name__}: {exc}"
    model_s = reply.seconds if reply else 0.0
    passed, judge_s, judged = judge(project, goal)
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
    task: Task, options: BenchOptions, suite: str, out: Path, provider: Any = None
) -> dict[str, Any]:
    """The agent on one goal and try, then the acceptance tests; returns the record."""
    from ..agent import Agent
    from ..providers import Settings

    provider = provider or _get_provider(options)
    goal, start = task.goal, time.monotonic()
    project = out / "projects" / goal.name / f"try{task.attempt}"
    if project.exists():  # left by an interrupted run: start afresh
        shutil.rmtree(project)
    project.mkdir(parents=True)
    if options.plain:
        return run_plain(task, options, suite, project, provider)
    settings = Settings(
        temperature=options.sampling_temperature,
        max_tokens=options.max_tokens,
        seed=options.seed + task.attempt,
    )
    steps = 1 if options.single_shot else (options.max_steps or goal.max_steps or DEFAULT_STEPS)
    agent = Agent(
        provider,
        Workspace(project),
        goal.goal,
        max_steps=steps,
        time_limit_s=options.timeout_s
        or goal.timeout_s
        or default_time_limit(options.model),  # as `run` gives it
        settings=settings,
        samples=1 if options.single_shot else options.samples,
        memo=getattr(provider, "cache", None),
        plain_start=True,
    )
    result = agent.run()
    passed, judge_s, judged = judge(project, goal)
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


def judge(project: Path, goal: Goal) -> tuple[bool, float, str]:
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
            ["pytest", *PYTEST_ARGS, "--tb=line", *tests], copy.root, JUDGE_TIMEOUT
        )
    tail = "" if result.ok else sandbox.cap(result.output, 600)
    return result.ok, time.monotonic() - start, tail


# ---- a suite ------------------------------------------------------------------------------------
class Record(BaseModel):
    """The fields of a record that resume, summary and compare read; others are kept as they are."""

    model_config = ConfigDict(extra="allow", strict=True)

    suite: str
    goal: str
    try_: int = Field(alias="try", ge=0)
    model: str
    tool_mode: str
    passed: bool
    status: str
    steps: int
    model_calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    wall_s: float
    model_s: float
    harness_s: float
    malformed_actions: int


def read_records(out: Path) -> list[dict[str, Any]]:
    """Every record of `out`. A last line without its newline was cut by a crash: it is left out
    (that goal runs again). Any other line that is not a record is one clear error."""
    path = out / RECORDS
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise AutocoderError(f"{path} cannot be read ({exc}): choose another --out") from None
    lines = text.split("\n")
    lines.pop()  # the empty rest after the last newline, or the line a crash cut
    records = []
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            Record.model_validate(record)
        except ValueError as exc:
            why = str(exc).splitlines()[0] if not isinstance(exc, ValidationError) else _why(exc)
            raise AutocoderError(
                f"{path}:{n} is not a bench record ({why}): remove that line, or choose another --out"
            ) from None
        records.append(record)
    return records


def _why(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc'])) or 'record'}: {err['msg']}"


def _set_aside_cut_line(out: Path) -> None:
    """A crash can cut the last record short: move that fragment to records.jsonl.cut, so the next
    record starts on a line of its own and nothing is glued to it or lost."""
    path = out / RECORDS
    if not path.is_file() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    with (out / (RECORDS + ".cut")).open("ab") as fh:
        fh.write(data[keep:] + b"\n")
    with path.open("r+b") as fh:
        fh.truncate(keep)


def tasks_to_run(suite: Suite, options: BenchOptions, out: Path, resume: bool) -> list[Task]:
    done = {(r["goal"], r["try"]) for r in read_records(out)}
    if done and not resume:
        raise AutocoderError(
            f"{out} already holds bench records: add --resume to go on with it, or choose another --out"
        )
    return [
        Task(g, t) for g in suite.goals for t in range(options.tries) if (g.name, t) not in done
    ]


def manifest(suite: Suite, options: BenchOptions, provider: Any) -> dict[str, Any]:
    return {
        "autocoder": __version__,
        "git_revision": _git_revision(),
        "suite": suite.name,
        "goals": len(suite.goals),
        "model": getattr(provider, "name", options.model),
        "model_identity": getattr(provider, "identity", {}),
        "tool_mode": getattr(provider, "tool_mode", ""),
        "options": options.model_dump(),
        "temperature": options.sampling_temperature,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.system(),
            "machine": platform.machine(),
        },
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


RESULT_OPTIONS = (
    "model",
    "api_base",
    "tool_mode",
    "single_shot",
    "plain",
    "samples",
    "max_steps",
    "temperature",
    "max_tokens",
    "seed",
    "timeout_s",
)


def _same_settings(out: Path, options: BenchOptions) -> None:
    """--resume goes on with the run recorded in `out`, never mixes in records made otherwise."""
    path = out / MANIFEST
    if not path.exists():
        return
    try:
        before = json.loads(path.read_text(encoding="utf-8")).get("options")
        if not isinstance(before, dict):
            raise ValueError("no options")
    except (OSError, ValueError, AttributeError) as exc:
        raise AutocoderError(
            f"{path} is damaged ({exc}): choose another --out to start afresh"
        ) from None
    now = options.model_dump()
    changed = [k for k in RESULT_OPTIONS if k in before and before[k] != now[k]]
    if changed and read_records(out):
        k = changed[0]
        raise AutocoderError(
            f"{out} was recorded with {k}={before[k]!r}, not {now[k]!r}: use the same options to resume, or another --out"
        )


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def run_suite(
    suite: Suite,
    options: BenchOptions,
    out: Path,
    resume: bool = False,
    on_record: Callable[[dict[str, Any]], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    provider: Any = None,
) -> list[dict[str, Any]]:
    """Run every goal and try not yet recorded in `out`; each record is appended as it comes, so an
    interrupted run loses nothing and `resume` goes on from there. Returns all records of `out`."""
    sandbox.require(options.unsafe)
    if options.plain and options.single_shot:
        raise AutocoderError("--plain and --single-shot are two baselines: choose one per run")
    if options.record and options.jobs > 1:
        raise AutocoderError(
            "--record writes one cassette from one process: use --jobs 1 (replays may use more)"
        )
    out.mkdir(parents=True, exist_ok=True)
    todo = tasks_to_run(suite, options, out, resume)
    _set_aside_cut_line(out)
    provider = provider or make_provider(options)  # lazy: a local model loads on its first call
    global _provider
    _provider = provider
    _same_settings(out, options)
    (out / MANIFEST).write_text(
        json.dumps(manifest(suite, options, provider), indent=2) + "\n", encoding="utf-8"
    )
    if on_start:
        on_start(len(todo))
    with (out / RECORDS).open("a", encoding="utf-8") as fh:
        for record in _results(todo, options, suite.name, out):
            fh.write(json.dumps(record) + "\n")
            fh.flush()
            if on_record:
                on_record(record)
    return read_records(out)


def _results(
    todo: list[Task], options: BenchOptions, suite: str, out: Path
) -> Iterator[dict[str, Any]]:
    if options.jobs == 1 or len(todo) <= 1:
        for task in todo:
            yield run_task(task, options, suite, out)
        return
    threads = max(1, (os.cpu_count() or 1) // options.jobs)
    ctx = get_context("spawn")  # a fresh process per worker: no llama.cpp state crosses a fork
    with ProcessPoolExecutor(
        options.jobs, mp_context=ctx, initializer=_worker_init, initargs=(options, threads)
    ) as pool:
        pending: set[Future[dict[str, Any]]] = {
            pool.submit(run_task, t, options, suite, out) for t in todo
        }
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()
        except BaseException:
            for future in pending:
                future.cancel()
            raise
