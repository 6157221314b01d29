"""The bench page: a bench output folder as its index.html: the summary (beside the plain and
single-shot baselines of the same suite and model when their folders sit next to it), one row per
goal and try (sortable, filterable), the chart, and a run page for each goal and try."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exceptions import AutocoderError
from . import chart, page, run_page, trajectory
from .benches import Bench, load, pass_chart, siblings, side_by_side, summary_facts
from .clean import Cleaner


def write(folder: Path, out: Path | None = None) -> tuple[Path, Bench]:
    """Render `folder`'s page (default: its index.html) and a run page for each goal and try
    whose project holds a trajectory; returns the page and the bench as read."""
    bench = load(folder)
    index = out or folder / page.INDEX
    render_runs(bench, index)
    html = page.render("bench.html.j2", Cleaner(folder), build(bench, index))
    return page.write(index, html), bench


def render_runs(bench: Bench, back: Path) -> None:
    """A run page for each record whose project folder holds a trajectory; they link back."""
    projects = bench.folder / "projects"
    for r in bench.records:
        project = projects / r["goal"] / f"try{r.get('try')}"
        if not _plain(projects, project) or not trajectory.runs(project):
            continue  # a goal name or a link that leaves the folder is no project of this bench
        try:
            page_path = run_page.write(trajectory.latest(project), back=back)
        except AutocoderError:
            continue  # a project that broke its own state: the bench page shows it unlinked
        bench.runs[(r["goal"], r.get("try"))] = page_path


def _plain(projects: Path, project: Path) -> bool:
    """Whether `project` is a folder two plain names below `projects` with no link on the way
    (a page is read from it and written into it)."""
    parts = (projects, projects / project.parent.name, project)
    return (
        project.parent.parent == projects
        and project.parent.name not in ("", ".", "..")
        and project.name not in ("", ".", "..")
        and all(p.is_dir() and not p.is_symlink() for p in parts)
    )


def build(bench: Bench, index: Path) -> dict[str, Any]:
    s = bench.summary
    rows = [_row(r, bench, index) for r in bench.records]
    modes = [b for b in siblings(bench) if b.summary.get("records")]
    points = [
        chart.Point(
            page.number(r.get("wall_s")),
            page.number(r.get("prompt_tokens")) + page.number(r.get("completion_tokens")),
            title=f"{r['goal']} try {r.get('try')}: {'passed' if r.get('passed') else 'failed'}",
            tone="pass" if r.get("passed") is True else "fail",
            href=row["run"],
        )
        for r, row in zip(bench.records, rows, strict=True)
    ]
    return {
        "title": f"autocoder bench: {s.get('suite', '')} on {s.get('model', '')} "
        f"({s.get('mode', '')})",
        "facts": summary_facts(s),
        "modes": side_by_side(modes, index) if len(modes) > 1 else None,
        "modes_chart": pass_chart(modes, index) if len(modes) > 1 else None,
        "manifest": manifest_facts(bench.manifest),
        "rows": rows,
        "chart_data": chart.scatter(points, "seconds (wall)", "tokens (in + out)"),
        "unreadable": bench.unreadable,
    }


def _row(r: dict[str, Any], bench: Bench, index: Path) -> dict[str, Any]:
    run = bench.runs.get((r["goal"], r.get("try")))
    tokens = page.number(r.get("prompt_tokens")) + page.number(r.get("completion_tokens"))
    passed = r.get("passed") is True
    return {
        "goal": r["goal"],
        "try": r.get("try", ""),
        "passed": passed,
        "status": str(r.get("status", "")),
        "steps": r.get("steps", ""),
        "calls": r.get("model_calls", ""),
        "tokens": int(tokens),
        "seconds": page.seconds(r.get("wall_s")),
        "seconds_v": page.number(r.get("wall_s")),
        "run": page.link(run, index) if run else "",
        "error": run_page.cut(str(r.get("error") or "")),
        "judge": run_page.cut(str(r.get("judge_output") or "")),
        "text": f"{r['goal']} {r.get('status', '')}".lower(),
        "tags": f"{'passed' if passed else 'failed'} {r.get('status', '')}",
    }


def manifest_facts(m: dict[str, Any]) -> list[tuple[str, str]]:
    options = page.typed(m.get("options"), dict)
    machine = page.typed(m.get("machine"), dict)
    keep = (
        "samples",
        "max_steps",
        "tries",
        "temperature",
        "max_tokens",
        "seed",
        "jobs",
        "cassette",
    )
    facts = [("autocoder", m.get("autocoder", "")), ("git revision", m.get("git_revision", ""))]
    facts += [("started", m.get("started", ""))]
    facts += [(k.replace("_", " "), options[k]) for k in keep if options.get(k) is not None]
    facts += [("machine", " ".join(str(machine.get(k, "")) for k in ("system", "machine")))]
    facts += [("cores", machine.get("cores", "")), ("python", machine.get("python", ""))]
    return [(k, str(v)) for k, v in facts if v not in ("", None)]
