"""`autocoder show`: the command's options; the pages are made by autocoder.show,
imported when the command runs, so that `autocoder --help` stays fast."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import user_errors


def show(
    targets: Annotated[
        list[Path] | None,
        typer.Argument(
            help="A project folder (its latest run), a run's .jsonl, a bench output folder, or "
            "several bench folders to compare (default: the current folder).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Where to write the page (default: PROJECT/.autocoder/runs/STAMP.html, "
            "BENCH/index.html, or ./bench-compare.html for a comparison).",
            show_default=False,
        ),
    ] = None,
    open_page: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
) -> None:
    """Render a run or a bench as one self-contained HTML page (file://, loads nothing)."""
    from ..show import render

    with user_errors():
        page = render(targets or [Path(".")], out)
    typer.echo(str(page))
    if open_page:
        import webbrowser

        webbrowser.open(page.resolve().as_uri())
