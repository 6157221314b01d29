"""The command line: a thin typer app that builds a RunConfig and calls the library."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from .._version import __version__
from ..exceptions import AutocoderError
from ..loop import ATTEMPTS, MAX_STEPS, SAMPLES
from . import bench as bench_command
from . import show as show_command
from .options import ApiBase, ApiKey, Model, NoCache, ToolMode, Unsafe, user_errors

app = typer.Typer(
    help="autocoder: a coding agent that writes, runs and repairs a Python project until it works.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
        # a str, not a Path: typer makes Path("") of -d '', the current folder
        str | None,
        typer.Option("--project-dir", "-d", help="Project folder (default: named after the goal)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Project name.")] = None,
    model: Model = "smollm2",
    api_base: ApiBase = None,
    api_key: ApiKey = None,
    tool_mode: ToolMode = "auto",
    no_cache: NoCache = False,
    allow_install: Annotated[
        bool,
        typer.Option(
            "--allow-install",
            help="pip-install (wheels only) the packages the code imports, into the project's "
            "own .venv.",
        ),
    ] = False,
    unsafe: Unsafe = False,
    max_steps: Annotated[int, typer.Option(help="Most steps before giving up.")] = MAX_STEPS,
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
            help="Most candidates of a fresh start, chosen among by running them (it stops "
            "sooner when one answers every example or none answers any; without examples, when "
            f"3 agree); a repair step tries at most {ATTEMPTS}."
        ),
    ] = SAMPLES,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON line.")
    ] = False,
) -> None:
    """Run the agent on GOAL until the project is done, or a budget is spent.

    Exit code 0 when done, 1 when it ran but is not done, 2 for bad input.
    """
    from ..api import run as run_goal
    from ..loop.config import EMBEDDED_HINT, RunConfig

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
        from ..progress import printable

        typer.echo(
            printable(
                f"{result.status}: {result.reason} ({result.steps} steps, "
                f"{result.model_calls} model calls, {result.cache_hits} cached, "
                f"tool mode {result.tool_mode}, {result.wall_s:.1f} s); "
                f"project in {result.project_dir}"
            ),
            err=True,
        )
        if result.kept:
            typer.echo(printable(f"kept: the best version found ({result.kept})"), err=True)
        if result.evidence:
            typer.echo(printable(f"checked: {result.evidence}"), err=True)
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
    from ..progress import printable
    from ..project.workspace import Workspace

    with user_errors():
        if not project_dir.is_dir():
            raise AutocoderError(f"{project_dir} is not a folder")
        try:
            restored = Workspace(project_dir).undo()
        except FileNotFoundError:
            raise AutocoderError(
                f"nothing to undo in {project_dir}: no snapshot in .autocoder/snapshots"
            ) from None
    typer.echo(f"restored {project_dir} to snapshot {restored.snapshot.stem}")
    for note in restored.notes:
        typer.echo(printable(note))


@app.command()
def models(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per profile.")
    ] = False,
) -> None:
    """List model profiles: kind, model, tool mode, context, and whether each is usable now."""
    from ..providers.usable import table

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


app.command(help=bench_command.HELP)(bench_command.bench)


app.command()(show_command.show)


cache_app = typer.Typer(
    help="The response cache: identical model requests are answered from disk.",
    no_args_is_help=True,
)
app.add_typer(cache_app, name="cache")


@cache_app.command("stats")
def cache_stats() -> None:
    """Where the cache is, how many replies it holds, its size."""
    from ..providers.cache import stats

    with user_errors():
        info = stats()
    typer.echo(
        f"{info['directory']}: {info['replies']} replies, {info['entries']} entries, "
        f"{info['bytes'] / 1e6:.2f} MB"
    )


@cache_app.command("clear")
def cache_clear() -> None:
    """Remove every cached reply (and remembered endpoint probes)."""
    from ..providers.cache import clear

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
    # so a run ends as after Ctrl-C: recorded, its programs killed, scratch removed
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point."""
    import signal

    signal.signal(signal.SIGTERM, _terminated)
    try:
        app()
    except KeyboardInterrupt:  # outside a run (which handles its own): leave quietly
        typer.echo("interrupted", err=True)
        sys.exit(130)
