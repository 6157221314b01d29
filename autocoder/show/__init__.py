"""`autocoder show`: a run (its trajectory) or a bench output folder as one self-contained HTML
page.

clean: what never reaches a page (secrets, machine paths, control characters); trajectory: a run's
records read back; diffs: each step's changes from the workspace snapshots; benches: bench folders
read back and set side by side; chart: inline SVG; page: the templates and the one writer;
run_page, bench_page, compare_page: what each page shows; command: the typer command. Model and
program text is untrusted: the templates escape everything and the page's Content-Security-Policy
runs only its own script. Nothing is imported here until a page is made (`autocoder --help`)."""

from __future__ import annotations

from pathlib import Path


def render(targets: list[Path], out: Path | None = None) -> Path:
    """The page for `targets`, written to `out` or its default place; returns its path.

    A project folder: its latest run; a trajectory file: that run; a bench output folder: its
    index.html (and a run page per goal and try); several bench folders: a comparison."""
    from ..exceptions import AutocoderError
    from . import bench_page, compare_page, run_page, trajectory
    from .benches import is_bench

    for target in targets:
        if not target.exists():
            raise AutocoderError(f"{target} does not exist")
    if len(targets) > 1:
        other = next((t for t in targets if not is_bench(t)), None)
        if other is not None:
            raise AutocoderError(
                f"{other} is not a bench output folder: several folders are compared only as "
                "bench runs (one project at a time)"
            )
        return compare_page.write(targets, out)
    target = targets[0]
    if target.is_file():
        return run_page.write(target, out)
    if is_bench(target):
        return bench_page.write(target, out)[0]
    return run_page.write(trajectory.latest(target), out)
