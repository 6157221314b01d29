"""The comparison page: several bench output folders side by side (their summaries, each run's lift
over a plain run of the same suite and model, pass rate against wall time) and goal by goal, the
goals whose outcome differs first to find. Each folder gets its own page too, which it links to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..exceptions import AutocoderError
from . import bench_page, page
from .benches import Bench, pass_chart, side_by_side
from .clean import Cleaner

DEFAULT = Path("bench-compare.html")


def write(folders: list[Path], out: Path | None = None) -> Path:
    """Render each folder's page, then the comparison (default: ./bench-compare.html)."""
    if len(folders) < 2:
        raise AutocoderError("a comparison needs two bench output folders or more")
    out = out or DEFAULT
    benches = [bench_page.write(folder)[1] for folder in folders]
    html = page.render("compare.html.j2", Cleaner(out.resolve().parent), build(benches, out))
    return page.write(out, html)


def build(benches: list[Bench], out: Path) -> dict[str, Any]:
    goals = sorted({r["goal"] for b in benches for r in b.records})
    rows = [_row(goal, benches, out) for goal in goals]
    differ = sum(r["differs"] for r in rows)
    return {
        "title": f"autocoder bench: {len(benches)} runs compared",
        "side": side_by_side(benches, out),
        "chart_data": pass_chart(benches, out),
        "columns": [b.name for b in benches],
        "rows": rows,
        "differ": differ,
    }


def _row(goal: str, benches: list[Bench], out: Path) -> dict[str, Any]:
    cells = []
    for b in benches:
        tries = sorted(
            (r for r in b.records if r["goal"] == goal), key=lambda r: page.number(r.get("try"))
        )
        passed = sum(r.get("passed") is True for r in tries)
        run = b.runs.get((goal, tries[0].get("try"))) if tries else None
        state = "none" if not tries else "pass" if passed == len(tries) else "fail"
        cells.append(
            {
                "state": state,
                "text": "not run" if not tries else f"{passed}/{len(tries)}",
                "share": passed / len(tries) if tries else -1,
                "status": str(tries[0].get("status", "")) if tries else "",
                "run": page.link(run, out) if run else "",
            }
        )
    differs = len({c["share"] for c in cells}) > 1
    return {
        "goal": goal,
        "cells": cells,
        "differs": differs,
        "text": goal.lower(),
        "tags": "differs" if differs else "same",
    }
