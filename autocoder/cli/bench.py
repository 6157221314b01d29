"""`autocoder bench`: the command's options; the work is in bench/console.py and runner.py (imported
when the command runs, so that `autocoder --help` stays fast)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..bench.options import MAX_CLUSTER_JOBS
from ..exceptions import AutocoderError
from ..loop import MAX_STEPS, MAX_TOKENS, SAMPLES
from .options import ApiBase, ApiKey, Model, NoCache, ToolMode, Unsafe, user_errors

# The command's help, given to typer whole: it shows a docstring's line breaks as they are, and
# this line is longer than a source line.
HELP = (
    "Score a model on fixed goals, judged by acceptance tests the agent never sees; "
    "or compare runs."
)


def bench(
    suite: Annotated[
        str,
        typer.Argument(
            help="samples, humaneval, a suite folder, or `compare` followed by bench output "
            "folders."
        ),
    ],
    folders: Annotated[
        list[str] | None,
        typer.Argument(help="With compare: the bench output folders.", show_default=False),
    ] = None,
    model: Model = "smollm2",
    api_base: ApiBase = None,
    api_key: ApiKey = None,
    tool_mode: ToolMode = "auto",
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
            max=MAX_CLUSTER_JOBS,
            help="Goals run in parallel, each worker loading a local model once (64 at most "
            "here, 1024 with --ray).",
        ),
    ] = 1,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="ADDRESS",
            help="Run the workers on this Ray cluster (HOST:PORT, ray://HOST:PORT, or auto: "
            'RAY_ADDRESS or the one started here); needs pip install "autocoder[ray]".',
            show_default=False,
        ),
    ] = None,
    max_concurrent_calls: Annotated[
        int | None,
        typer.Option(
            "--max-concurrent-calls",
            min=1,
            help="Most model calls in flight at once across all workers (an API's rate limit).",
            show_default=False,
        ),
    ] = None,
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
        int | None,
        typer.Option(
            "--samples",
            min=1,
            max=64,
            help=f"Most candidates of a fresh start, as for run (default: {SAMPLES}).",
        ),
    ] = None,
    max_steps: Annotated[
        int | None,
        typer.Option(
            "--max-steps", min=1, help=f"Steps per goal (default: the goal's, else {MAX_STEPS})."
        ),
    ] = None,
    temperature: Annotated[
        float | None,
        typer.Option(
            "--temperature", min=0.0, max=2.0, help="Default 0, or 0.7 with --tries above 1."
        ),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens",
            min=16,
            help=f"Most tokens per model reply, as for run (default: {MAX_TOKENS}).",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout",
            min=1.0,
            help="Wall-clock limit per goal in seconds (default: the goal's, else as for run: "
            "180 on the embedded model, 1800 on others).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed (try k uses seed + k).")] = 0,
    resume: Annotated[
        bool, typer.Option("--resume", help="Skip the goals already recorded in the output folder.")
    ] = False,
    no_cache: NoCache = False,
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
    unsafe: Unsafe = False,
    chart: Annotated[
        Path, typer.Option("--chart", help="With compare: where to write the PNG chart.")
    ] = Path("bench-compare.png"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """`autocoder bench`; its help is HELP."""
    from ..bench import console as bench_cli
    from ..bench.options import BenchOptions

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
            ray=ray,
            max_concurrent_calls=max_concurrent_calls,
        )
        try:
            bench_cli.bench(suite, options, out, limit, resume, as_json)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
