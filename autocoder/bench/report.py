"""What a bench run says: a summary (pass@1, pass@k, steps, tokens, cost, time, malformed rate),
a table, a markdown report, and the comparison of several runs with a chart."""

from __future__ import annotations

import json
from collections import defaultdict
from math import comb
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..exceptions import AutocoderError
from ..progress import printable, safe
from .records import MANIFEST, RECORDS, read_records

SUMMARY, REPORT = "summary.json", "report.md"


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased estimator of Chen et al. (2021): chance that one of k of the n tries passes."""
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def summarize(
    records: list[dict[str, Any]], manifest: dict[str, Any] | None = None
) -> dict[str, Any]:
    by_goal: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_goal[r["goal"]].append(r)
    tries = min((len(v) for v in by_goal.values()), default=0)
    n = len(records) or 1
    calls = sum(r["model_calls"] for r in records)
    wall = sum(r["wall_s"] for r in records)
    harness = sum(r["harness_s"] for r in records)
    options = (manifest or {}).get("options", {})
    summary = {
        "suite": (manifest or {}).get("suite", records[0]["suite"] if records else ""),
        "model": (manifest or {}).get("model", records[0]["model"] if records else ""),
        "mode": "plain"
        if options.get("plain")
        else "single-shot"
        if options.get("single_shot")
        else "agent",
        "tool_mode": records[0]["tool_mode"] if records else "",
        "goals": len(by_goal),
        "tries": tries,
        "records": len(records),
        "passed_goals": sum(any(r["passed"] for r in rs) for rs in by_goal.values()),
        "pass@1": _mean(
            [pass_at_k(len(rs), sum(r["passed"] for r in rs), 1) for rs in by_goal.values()]
        ),
        "mean_steps": round(sum(r["steps"] for r in records) / n, 2),
        "model_calls": calls,
        "prompt_tokens": sum(r["prompt_tokens"] for r in records),
        "completion_tokens": sum(r["completion_tokens"] for r in records),
        "cost_usd": round(sum(r["cost_usd"] for r in records), 6),
        "wall_s": round(wall, 1),
        "model_s": round(sum(r["model_s"] for r in records), 1),
        "harness_s": round(harness, 1),
        "harness_share": round(harness / wall, 3) if wall else 0.0,
        "harness_s_per_goal": round(harness / n, 2),
        "malformed_rate": round(sum(r["malformed_actions"] for r in records) / calls, 3)
        if calls
        else 0.0,
        "cache_hits": sum(r["cache_hits"] for r in records),
    }
    if tries > 1:
        summary[f"pass@{tries}"] = _mean(
            [pass_at_k(len(rs), sum(r["passed"] for r in rs), tries) for rs in by_goal.values()]
        )
    return summary


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


def table(records: list[dict[str, Any]], title: str = "") -> Table:
    t = Table(title=title or None)
    for col, justify in (
        ("goal", "left"),
        ("try", "right"),
        ("passed", "center"),
        ("status", "left"),
        ("steps", "right"),
        ("tokens", "right"),
        ("seconds", "right"),
    ):
        t.add_column(col, justify=justify)  # type: ignore[arg-type]
    for r in records:
        mark = "[green]yes[/]" if r["passed"] else "[red]no[/]"
        t.add_row(
            safe(r["goal"]),
            str(r["try"]),
            mark,
            safe(r["status"]),
            str(r["steps"]),
            str(r["prompt_tokens"] + r["completion_tokens"]),
            f"{r['wall_s']:.1f}",
        )
    return t


def summary_lines(s: dict[str, Any]) -> list[str]:
    run = f"{printable(s['suite'])} · {printable(s['model'])}"
    lines = [
        f"{run} · {s['mode']} ({printable(s['tool_mode'])}): pass@1 {s['pass@1']:.1%} "
        f"({s['passed_goals']}/{s['goals']} goals passed at least once)"
    ]
    if s["tries"] > 1:
        k = s["tries"]
        lines.append(f"pass@{k} {s[f'pass@{k}']:.1%} over {k} tries per goal")
    lines.append(
        f"mean steps {s['mean_steps']}, model calls {s['model_calls']}, "
        f"tokens {s['prompt_tokens']} in + {s['completion_tokens']} out, cost ${s['cost_usd']:.4f}"
    )
    lines.append(
        f"wall {s['wall_s']:.1f} s, model {s['model_s']:.1f} s, harness {s['harness_s']:.1f} s "
        f"({s['harness_share']:.1%} of wall, {s['harness_s_per_goal']:.2f} s per goal)"
    )
    lines.append(
        f"malformed actions {s['malformed_rate']:.1%} of calls, cache hits {s['cache_hits']}"
    )
    return lines


def write(out: Path, elapsed_s: float | None = None) -> dict[str, Any]:
    """summary.json and report.md from every record in `out`."""
    records = read_records(out)
    manifest = _manifest(out)
    summary = summarize(records, manifest)
    if elapsed_s is not None:
        # this invocation's clock time (parallel jobs overlap)
        summary["elapsed_s"] = round(elapsed_s, 1)
    (out / SUMMARY).write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    rows = "\n".join(
        f"| {r['goal']} | {r['try']} | {'yes' if r['passed'] else 'no'} | {r['status']} "
        f"| {r['steps']} | {r['prompt_tokens'] + r['completion_tokens']} | {r['wall_s']:.1f} |"
        for r in records
    )
    text = (
        f"# Bench: {summary['suite']} on {summary['model']}\n\n"
        + "\n".join(f"- {ln}" for ln in summary_lines(summary))
        + "\n\n| goal | try | passed | status | steps | tokens | seconds |\n"
        + "|---|---|---|---|---|---|---|\n"
        + rows
        + "\n"
    )
    (out / REPORT).write_text(text, encoding="utf-8")
    return summary


def _manifest(out: Path) -> dict[str, Any]:
    """The run's manifest, or {} when it is missing or damaged (the records alone still
    summarize)."""
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    if not isinstance(data.get("options"), dict):
        data["options"] = {}
    return {k: v for k, v in data.items() if k not in ("suite", "model") or isinstance(v, str)}


# ---- compare ----------------------------------------------------------------------------------
def compare(folders: list[Path], chart: Path | None, console: Console) -> list[dict[str, Any]]:
    """Side by side: each run's summary, then the goals whose outcome differs; a PNG chart of
    pass rate against wall time (and cost, when any run cost money)."""
    if len(folders) < 2:
        raise AutocoderError(
            "compare needs at least two bench output folders: autocoder bench compare runs/a runs/b"
        )
    runs = []
    for folder in folders:
        records = read_records(folder)
        if not records:
            raise AutocoderError(
                f"{folder} holds no bench records ({RECORDS}): give folders written by"
                " autocoder bench"
            )
        runs.append((folder, records, summarize(records, _manifest(folder))))
    t = Table(title="runs")
    for col in (
        "run",
        "model",
        "mode",
        "goals",
        "pass@1",
        "mean steps",
        "tokens",
        "cost $",
        "wall s",
        "malformed",
    ):
        t.add_column(col)
    for folder, _, s in runs:
        t.add_row(
            safe(folder),
            safe(s["model"]),
            s["mode"],
            str(s["goals"]),
            f"{s['pass@1']:.1%}",
            str(s["mean_steps"]),
            str(s["prompt_tokens"] + s["completion_tokens"]),
            f"{s['cost_usd']:.4f}",
            f"{s['wall_s']:.0f}",
            f"{s['malformed_rate']:.1%}",
        )
    console.print(t)
    for line in lift_lines([(f, s) for f, _, s in runs]):
        console.print(line, highlight=False)
    outcome = [{r["goal"]: r["passed"] for r in records if r["try"] == 0} for _, records, _ in runs]
    goals = sorted(set().union(*outcome))
    differ = [g for g in goals if len({o.get(g) for o in outcome}) > 1]
    d = Table(title=f"goals whose outcome differs ({len(differ)} of {len(goals)})")
    d.add_column("goal")
    for folder, _, _ in runs:
        d.add_column(safe(folder.name))
    for g in differ:
        d.add_row(
            safe(g),
            *(
                "-" if o.get(g) is None else ("[green]pass[/]" if o[g] else "[red]fail[/]")
                for o in outcome
            ),
        )
    console.print(d)
    if chart is not None:
        _chart([(f.name, s) for f, _, s in runs], chart)
        console.print(f"chart: {chart}")
    return [s for _, _, s in runs]


def lift_lines(runs: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    """Each run's lift over a plain run of the same suite and model: the number the loop lives
    by."""
    lines = []
    for folder, s in runs:
        for base_folder, base in runs:
            same = (base["suite"], base["model"]) == (s["suite"], s["model"])
            if base["mode"] == "plain" and s["mode"] != "plain" and same:
                lift, ratio = (
                    s["pass@1"] - base["pass@1"],
                    (s["pass@1"] / base["pass@1"] if base["pass@1"] else None),
                )
                times = f", {ratio:.2f}x" if ratio is not None else ""
                lines.append(
                    f"{printable(folder.name)} ({s['mode']}) over plain "
                    f"{printable(base_folder.name)}: {s['pass@1']:.1%} vs {base['pass@1']:.1%}, "
                    f"lift {100 * lift:+.1f} points{times}"
                )
    return lines


def _chart(runs: list[tuple[str, dict[str, Any]]], path: Path) -> list[tuple[float, float]]:
    """The PNG: pass rate (0-100 %) by wall time and cost, a labelled point a run; its y ranges."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import PercentFormatter

    costly = any(s["cost_usd"] for _, s in runs)
    fig, axes = plt.subplots(
        1, 2 if costly else 1, figsize=(11 if costly else 6, 4.5), squeeze=False
    )
    panels = [("wall_s", "wall time (s)")] + ([("cost_usd", "cost (USD)")] if costly else [])
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        seen: list[tuple[float, float]] = []
        top = max((s[key] for _, s in runs), default=0) or 1
        for name, s in runs:
            at = (s[key], 100 * s["pass@1"])
            ax.scatter(*at, s=60, clip_on=False, zorder=3)  # whole at 0 % and at 100 %
            # labels point into the plot, those of runs on the same spot one after another
            up, left = at[1] < 50, at[0] > 0.6 * top
            dy = (8 + 24 * seen.count(at)) * (1 if up else -1)
            place = {"ha": "right" if left else "left", "va": "bottom" if up else "top", "size": 8}
            text = f"{name}\n{s['model']} ({s['mode']})"
            ax.annotate(text, at, (-8 if left else 8, dy), "data", "offset points", **place)
            seen.append(at)
        ax.set_ylim(0, 100)
        ax.yaxis.set_major_formatter(PercentFormatter())
        ax.set_xlim(0, 1.1 * top)
        ax.set_xlabel(label)
        ax.set_ylabel("pass@1")
        ax.grid(alpha=0.3)
    fig.suptitle("autocoder bench: pass rate against " + (" and ".join(p[1] for p in panels)))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    limits = [ax.get_ylim() for ax in axes[0]]
    plt.close(fig)
    return limits
