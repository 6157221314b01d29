"""Bench output folders read back (records.jsonl, manifest.json, summary.json) and set side by
side: what the bench and comparison pages show of a run as a whole.

It reads the folders as the bench wrote them and imports nothing of the bench (the library's
layers: the bench is above it)."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..exceptions import AutocoderError
from . import chart, page

RECORDS, MANIFEST, SUMMARY = "records.jsonl", "manifest.json", "summary.json"
MODES = ("plain", "single-shot", "agent")


@dataclass
class Bench:
    """One bench output folder, read leniently (a run still going, a damaged line)."""

    folder: Path
    records: list[dict[str, Any]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    unreadable: int = 0
    runs: dict[tuple[str, int], Path] = field(default_factory=dict)  # (goal, try) -> run page

    @property
    def name(self) -> str:
        return self.folder.resolve().name


def is_bench(folder: Path) -> bool:
    return (folder / RECORDS).is_file() or (folder / MANIFEST).is_file()


def load(folder: Path) -> Bench:
    if not is_bench(folder):
        raise AutocoderError(
            f"{folder} is not a bench output folder (no {RECORDS} or {MANIFEST}): give one written "
            "by `autocoder bench`"
        )
    bench = Bench(folder, manifest=_json(folder / MANIFEST))
    try:
        text = (folder / RECORDS).read_text(encoding="utf-8", errors="replace")
        lines = [line for line in text.split("\n") if line.strip()]  # not at U+2028
    except OSError:
        lines = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and isinstance(record.get("goal"), str):
            bench.records.append(record | {"try": _key(record.get("try"))})
        else:
            bench.unreadable += 1
    stored = {str(k): _key(v) for k, v in _json(folder / SUMMARY).items()}
    fresh = stored.get("records") == len(bench.records) and "pass@1" in stored
    bench.summary = stored if fresh else summarize(bench.records, bench.manifest)
    return bench


def summarize(records: list[dict[str, Any]], manifest: dict[str, Any]) -> dict[str, Any]:
    """The numbers the page shows, for a folder without an up-to-date summary.json (a bench still
    going or killed): pass@1 is the mean over goals of the share of tries that passed."""
    by_goal: dict[str, list[bool]] = defaultdict(list)
    for r in records:
        by_goal[r["goal"]].append(r.get("passed") is True)
    options = page.typed(manifest.get("options"), dict)
    n = len(records) or 1

    def total(key: str) -> float:
        return sum(page.number(r.get(key)) for r in records)

    return {
        "suite": manifest.get("suite", records[0].get("suite", "") if records else ""),
        "model": manifest.get("model", records[0].get("model", "") if records else ""),
        "mode": mode(options),
        "tool_mode": records[0].get("tool_mode", "") if records else "",
        "goals": len(by_goal),
        "tries": min((len(v) for v in by_goal.values()), default=0),
        "records": len(records),
        "passed_goals": sum(any(v) for v in by_goal.values()),
        "pass@1": round(sum(sum(v) / len(v) for v in by_goal.values()) / (len(by_goal) or 1), 4),
        "mean_steps": round(total("steps") / n, 2),
        "model_calls": int(total("model_calls")),
        "prompt_tokens": int(total("prompt_tokens")),
        "completion_tokens": int(total("completion_tokens")),
        "cost_usd": round(total("cost_usd"), 6),
        "wall_s": round(total("wall_s"), 1),
        "malformed_rate": round(total("malformed_actions") / total("model_calls"), 3)
        if total("model_calls")
        else 0.0,
        "cache_hits": int(total("cache_hits")),
    }


def mode(options: dict[str, Any]) -> str:
    if options.get("plain"):
        return "plain"
    return "single-shot" if options.get("single_shot") else "agent"


def summary_facts(s: dict[str, Any]) -> list[tuple[str, str]]:
    tries = s.get("tries", 1)
    facts = [
        ("suite", s.get("suite", "")),
        ("model", s.get("model", "")),
        ("mode", s.get("mode", "")),
        ("tool mode", s.get("tool_mode", "")),
        ("pass@1", percent(s.get("pass@1"))),
        (f"pass@{tries}", percent(s.get(f"pass@{tries}"))) if tries != 1 else None,
        ("goals passed", f"{s.get('passed_goals', 0)} of {s.get('goals', 0)}"),
        ("tries per goal", tries),
        ("mean steps", s.get("mean_steps", "")),
        ("model calls", s.get("model_calls", "")),
        (
            "tokens in / out",
            f"{_count(s.get('prompt_tokens'))} / {_count(s.get('completion_tokens'))}",
        ),
        ("cost USD", f"{page.number(s.get('cost_usd')):.4f}"),
        ("wall s (summed)", page.seconds(s.get("wall_s"))),
        ("malformed", percent(s.get("malformed_rate"))),
        ("cache hits", s.get("cache_hits", "")),
    ]
    if "elapsed_s" in s:
        facts.append(("elapsed s", page.seconds(s["elapsed_s"])))
    return [(k, str(v)) for k, v in (f for f in facts if f)]


def siblings(bench: Bench) -> list[Bench]:
    """This folder and the baselines `autocoder bench` names after it (NAME, NAME-plain,
    NAME-single-shot) of the same suite and model, in the order plain, single-shot, agent."""
    base = bench.name.removesuffix("-plain").removesuffix("-single-shot")
    parent, found = bench.folder.resolve().parent, {}
    for name in (base, f"{base}-plain", f"{base}-single-shot"):
        other = bench if name == bench.name else parent / name
        if isinstance(other, Path):
            other = load(other) if is_bench(other) else None
        same = other is not None and all(
            other.summary.get(k) == bench.summary.get(k) for k in ("suite", "model")
        )
        if same and other.summary.get("mode") not in found:
            found[other.summary.get("mode")] = other
    return [found[m] for m in MODES if m in found]


def side_by_side(benches: list[Bench], index: Path) -> dict[str, Any]:
    """Runs side by side: a column each, a row per number, and each mode's lift over plain."""
    rows = [
        ("pass@1", lambda s: percent(s.get("pass@1"))),
        ("goals passed", lambda s: f"{s.get('passed_goals', 0)} of {s.get('goals', 0)}"),
        ("mean steps", lambda s: s.get("mean_steps", "")),
        ("model calls", lambda s: s.get("model_calls", "")),
        ("tokens", lambda s: f"{tokens(s):,.0f}"),
        ("wall s", lambda s: page.seconds(s.get("wall_s"))),
        ("cost USD", lambda s: f"{page.number(s.get('cost_usd')):.4f}"),
        ("malformed", lambda s: percent(s.get("malformed_rate"))),
    ]
    rows.insert(0, ("model", lambda s: s.get("model", "")))
    rows.insert(0, ("suite", lambda s: s.get("suite", "")))
    return {
        "columns": [
            {
                "name": b.name,
                "mode": b.summary.get("mode", ""),
                "href": page.link(b.folder / page.INDEX, index),
            }
            for b in benches
        ],
        "rows": [(name, [str(get(b.summary)) for b in benches]) for name, get in rows],
        "lifts": lifts(benches),
    }


def lifts(benches: list[Bench]) -> list[str]:
    """Each run's lift over a plain run of the same suite and model: the number the loop lives
    by."""
    lines = []
    for b in benches:
        for base in benches:
            same = all(base.summary.get(k) == b.summary.get(k) for k in ("suite", "model"))
            if same and base.summary.get("mode") == "plain" and b.summary.get("mode") != "plain":
                lines.append(
                    f"{b.name} ({b.summary.get('mode')}) over plain {base.name}: "
                    f"{percent(b.summary.get('pass@1'))} against "
                    f"{percent(base.summary.get('pass@1'))}, {lift(b.summary, base.summary):+.1f} "
                    "points"
                )
    return lines


def pass_chart(benches: list[Bench], index: Path) -> dict[str, Any]:
    """Pass rate (0-100 %) against wall time: one labelled point per run."""
    points = [
        chart.Point(
            page.number(b.summary.get("wall_s")),
            100 * page.number(b.summary.get("pass@1")),
            label=b.name,
            title=f"{b.name} ({b.summary.get('mode', '')}, {b.summary.get('model', '')}): pass@1 "
            f"{percent(b.summary.get('pass@1'))}, {page.seconds(b.summary.get('wall_s'))} s",
            href=page.link(b.folder / page.INDEX, index),
        )
        for b in benches
    ]
    return chart.scatter(points, "wall time (s, summed over goals)", "pass@1", percent=True)


def lift(s: dict[str, Any], base: dict[str, Any]) -> float:
    """Points of pass@1 over a baseline."""
    return 100 * (page.number(s.get("pass@1")) - page.number(base.get("pass@1")))


def tokens(s: dict[str, Any]) -> float:
    return page.number(s.get("prompt_tokens")) + page.number(s.get("completion_tokens"))


def percent(value: Any) -> str:
    return f"{100 * page.number(value):.1f} %" if value is not None else ""


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _key(value: Any) -> Any:
    """A field as a page keys and compares it: a number or a string (a list or an object where
    a try number or a mode belongs is shown as its text, never a key that cannot be hashed)."""
    if value is None or isinstance(value, str | int | float):
        return value
    return json.dumps(value)


def _count(value: Any) -> str:
    return f"{int(page.number(value)):,}"
