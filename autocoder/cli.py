"""The command line: a thin typer app that builds a RunConfig and calls the library."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from . import __version__
from .exceptions import AutocoderError
from .providers.modes import requestable

app = typer.Typer(
    help="autocoder: a coding agent that writes, runs and repairs a Python project until it works.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

TOOL_MODE_HELP = f"How actions reach the model: {', '.join(requestable())}."


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """A user's mistake is one line on stderr and exit code 2, never a traceback."""
    try:
        yield
    except AutocoderError as exc:
        from .progress import printable

        typer.echo(f"error: {printable(exc)}", err=True)
        raise typer.Exit(2) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"autocoder {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    pass


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help="What the program should do.")],
    project_dir: Annotated[
        Path | None,
        typer.Option("--project-dir", "-d", help="Project folder (default: named after the goal)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Project name.")] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="A profile (autocoder models), a litellm model such as openai/gpt-4o-mini, a .gguf path, or replay:FILE.",
        ),
    ] = "smollm2",
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", help="Endpoint of an OpenAI-compatible or other served model."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="API key (default: the provider's usual variable, or ./.env).",
            show_default=False,
        ),
    ] = None,
    tool_mode: Annotated[
        str,
        typer.Option("--tool-mode", help=TOOL_MODE_HELP),
    ] = "auto",
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Ask the model even when the response cache has the answer."
        ),
    ] = False,
    allow_install: Annotated[
        bool,
        typer.Option(
            "--allow-install",
            help="pip-install (wheels only) the packages the code imports, into the project's own .venv.",
        ),
    ] = False,
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe",
            help="Run model-written code unconfined when no sandbox (bubblewrap, user namespaces) is available.",
        ),
    ] = False,
    max_steps: Annotated[int, typer.Option(help="Most steps before giving up.")] = 25,
    time_limit: Annotated[
        float | None,
        typer.Option(
            help="Wall-clock limit in seconds (default: 180 on the embedded model, else 1800)."
        ),
    ] = None,
    step: Annotated[bool, typer.Option("--step", help="Wait for Enter before each step.")] = False,
    log_level: Annotated[str, typer.Option(help="normal, debug or quiet.")] = "normal",
    temperature: Annotated[
        float, typer.Option(help="Sampling temperature of the first attempt.")
    ] = 0.0,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
    samples: Annotated[
        int,
        typer.Option(
            help="Candidates tried per step (not for the final judgement); the first that gets the project further is applied."
        ),
    ] = 4,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON line.")
    ] = False,
) -> None:
    """Run the agent on GOAL until the project is done, or a budget is spent.

    Exit code 0 when done, 1 when it ran but is not done, 2 for bad input.
    """
    from .api import run as run_goal
    from .config import EMBEDDED_HINT, RunConfig

    with user_errors():
        config = RunConfig.build(
            goal=goal,
            project_dir=project_dir,
            name=name,
            model=model,
            max_steps=max_steps,
            time_limit_s=time_limit,
            step=step,
            log_level=log_level,
            temperature=temperature,
            seed=seed,
            samples=samples,
            api_base=api_base,
            api_key=api_key,
            tool_mode=tool_mode,
            cache=not no_cache,
            unsafe=unsafe,
            allow_install=allow_install,
        )
        result = run_goal(config)
    if as_json:
        typer.echo(json.dumps(result.to_json()))
    elif config.log_level != "quiet":
        from .progress import printable

        typer.echo(
            printable(
                f"{result.status}: {result.reason} ({result.steps} steps, {result.model_calls} model calls, "
                f"{result.cache_hits} cached, tool mode {result.tool_mode}, {result.wall_s:.1f} s); "
                f"project in {result.project_dir}"
            ),
            err=True,
        )
        if result.kept:
            typer.echo(printable(f"kept: the best version found ({result.kept})"), err=True)
        if not result.done and config.embedded:
            typer.echo(EMBEDDED_HINT, err=True)
    raise typer.Exit(0 if result.done else 1)


@app.command()
def undo(
    project_dir: Annotated[
        Path, typer.Option("--project-dir", "-d", help="Project folder.")
    ] = Path("."),
) -> None:
    """Restore the project's files to the newest snapshot that differs from them now."""
    from .workspace import Workspace

    with user_errors():
        if not project_dir.is_dir():
            raise AutocoderError(f"{project_dir} is not a folder")
        try:
            snap = Workspace(project_dir).undo()
        except FileNotFoundError:
            raise AutocoderError(
                f"nothing to undo in {project_dir}: no snapshot in .autocoder/snapshots"
            ) from None
    typer.echo(f"restored {project_dir} to snapshot {snap.stem}")


@app.command()
def models(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per profile.")
    ] = False,
) -> None:
    """List model profiles: kind, model, tool mode, context, and whether each is usable now."""
    from .providers.usable import table

    with user_errors():
        rows = table()
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table("profile", "kind", "model", "tool mode", "context", "usable now", "from")
    for r in rows:
        source = "built-in" if r["source"].startswith("built-in") else r["source"]
        out.add_row(
            r["name"],
            r["kind"],
            r["model"],
            r["tool_mode"],
            str(r["context"] or "model's"),
            r["usable"],
            source,
        )
    Console(width=None if sys.stdout.isatty() else 160).print(out)


@app.command()
def bench(
    suite: Annotated[
        str,
        typer.Argument(
            help="samples, humaneval, a suite folder, or `compare` followed by bench output folders."
        ),
    ],
    folders: Annotated[
        list[str] | None,
        typer.Argument(help="With compare: the bench output folders.", show_default=False),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model", "-m", help="A profile, a litellm model, a .gguf path (as for run)."
        ),
    ] = "smollm2",
    api_base: Annotated[
        str | None,
        typer.Option("--api-base", help="Endpoint of an OpenAI-compatible or other served model."),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            help="API key (default: the provider's usual variable, or ./.env).",
            show_default=False,
        ),
    ] = None,
    tool_mode: Annotated[str, typer.Option("--tool-mode", help=TOOL_MODE_HELP)] = "auto",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Output folder (default: runs/SUITE-MODEL[-plain|-single-shot])."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Only the first N goals.")
    ] = None,
    tries: Annotated[
        int, typer.Option("--tries", min=1, help="Runs per goal; reports pass@k (k = tries).")
    ] = 1,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Goals run in parallel (each worker loads a local model once).",
        ),
    ] = 1,
    single_shot: Annotated[
        bool,
        typer.Option(
            "--single-shot",
            help="Baseline: the agent's first step alone (one model call, no loop).",
        ),
    ] = False,
    plain: Annotated[
        bool,
        typer.Option(
            "--plain",
            help="Baseline: one plain chat turn per goal, its first code block as main.py.",
        ),
    ] = False,
    samples: Annotated[
        int,
        typer.Option("--samples", min=1, max=16, help="Candidates tried per step (as for run)."),
    ] = 4,
    max_steps: Annotated[
        int | None,
        typer.Option("--max-steps", min=1, help="Steps per goal (default: the goal's, else 20)."),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            "--temperature", min=0.0, max=2.0, help="Default 0, or 0.7 with --tries above 1."
        ),
    ] = None,
    max_tokens: Annotated[
        int, typer.Option("--max-tokens", min=16, help="Most tokens per model reply.")
    ] = 1024,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=1.0,
            help="Wall-clock limit per goal in seconds (default: the goal's, else as for run: 180 on the embedded model, 1800 on others).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (try k uses seed + k).")] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the goals already recorded in the output folder.")
    ] = False,
    no_cache: Annotated[
        bool,
        typer.Option(
            "--no-cache", help="Ask the model even when the response cache has the answer."
        ),
    ] = False,
    cassette: Annotated[
        Path | None,
        typer.Option(
            "--cassette", help="Replay every model call from this cassette (no model needed)."
        ),
    ] = None,
    record: Annotated[
        bool,
        typer.Option("--record", help="With --cassette: record this run's model calls into it."),
    ] = False,
    unsafe: Annotated[
        bool,
        typer.Option(
            "--unsafe", help="Run model-written code unconfined when no sandbox is available."
        ),
    ] = False,
    chart: Annotated[
        Path, typer.Option("--chart", help="With compare: where to write the PNG chart.")
    ] = Path("bench-compare.png"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Score a model on fixed goals, judged by acceptance tests the agent never sees; or compare runs."""
    from .bench import cli as bench_cli
    from .bench.options import BenchOptions

    with user_errors():
        if suite == "compare":
            bench_cli.compare(folders or [], chart)
            return
        if folders:
            raise AutocoderError(f"one suite at a time: got {suite} and {' '.join(folders)}")
        if record and cassette is None:
            raise AutocoderError("--record needs --cassette FILE: the file to record into")
        options = BenchOptions(
            model=model,
            api_base=api_base,
            api_key=api_key,
            tool_mode=tool_mode,
            cache=not no_cache,
            tries=tries,
            jobs=jobs,
            single_shot=single_shot,
            plain=plain,
            samples=samples,
            max_steps=max_steps,
            temperature=temperature,
            max_tokens=max_tokens,
            timeout_s=timeout,
            seed=seed,
            unsafe=unsafe,
            cassette=str(cassette) if cassette else None,
            record=record,
        )
        try:
            bench_cli.bench(suite, options, out, limit, resume, as_json)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None


cache_app = typer.Typer(
    help="The response cache: identical model requests are answered from disk.",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats() -> None:
    """Where the cache is, how many replies it holds, its size."""
    from .providers.cache import stats

    with user_errors():
        info = stats()
    typer.echo(
        f"{info['directory']}: {info['replies']} replies, {info['entries']} entries, {info['bytes'] / 1e6:.2f} MB"
    )


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every cached reply (and remembered endpoint probes)."""
    from .providers.cache import clear

    with user_errors():
        removed = clear()
    typer.echo(f"removed {removed} entries")


@app.command()
def start() -> None:
    """Interactive menu: new, edit, run and delete saved projects; set options."""
    from .interactive import menu

    with user_errors():
        menu()


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so a run ends as after Ctrl-C: recorded, its programs killed, scratch removed


def main() -> None:
    """Console entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except KeyboardInterrupt:  # outside a run (which handles its own): leave quietly
        typer.echo("interrupted", err=True)
        sys.exit(130)
