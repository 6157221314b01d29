"""The run page: what a run was asked, what each step saw, asked, got, did and changed, and for a
fresh start every candidate with its score and why one was chosen."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._version import __version__
from ..project.workspace import Workspace
from . import diffs, page
from .clean import Cleaner
from .trajectory import RUNS, Trajectory, read

PROGRESS = ("green", "examples right", "main runs", "tests pass", "clean files")
CHECKS = (("main", "main_ok"), ("tests", "tests_ok"), ("examples", "examples_ok"))
MAX_TEXT = 20_000  # characters of one reply or argument shown; the trajectory has them whole
NO_PROMPT = (
    "The trajectory does not store the prompt of this step: the model saw the goal, the files as "
    "in the diff's 'before', the checks' output (kept here only as passed or failed) and the "
    "steps so far. `autocoder run --log-level debug` prints each prompt as it is sent."
)


def output_path(run: Trajectory) -> Path:
    """Where the page goes: PROJECT/.autocoder/runs/STAMP.html, or beside a loose trajectory."""
    if run.in_project:
        return Workspace(run.project).private_dir(RUNS) / f"{run.path.stem}.html"
    return run.path.with_suffix(".html")


def write(trajectory: Path, out: Path | None = None, back: Path | None = None) -> Path:
    """Render the run recorded in `trajectory` to `out` (default: output_path); `back` is a page
    to link back to (the bench page it belongs to)."""
    run = read(trajectory)
    out = out or output_path(run)
    base = run.project if run.in_project else run.path.parent
    context = build(run)
    context["back"] = page.link(back, out) if back is not None else ""
    return page.write(out, page.render("run.html.j2", Cleaner(base), context))


def build(run: Trajectory) -> dict[str, Any]:
    """The page's data, before cleaning."""
    header, result = run.header, run.result
    goal = str(header.get("goal", ""))
    changes = diffs.changes(run)
    prompt = _plain_ask(goal) if header.get("version") == __version__ else None
    steps = [_step(s, changes.get(s["step"]), prompt) for s in run.steps]
    return {
        "title": f"autocoder run: {_first_line(goal)}",
        "goal": goal,
        "facts": _facts(run),
        "status": str((result or {}).get("status", "unfinished")),
        "reason": str((result or {}).get("reason", "")),
        "kept": str((result or {}).get("kept", "")),
        "evidence": str((result or {}).get("evidence", "")),
        "finished": result is not None,
        "unreadable": run.unreadable,
        "in_project": run.in_project,
        "steps": steps,
        "no_prompt": NO_PROMPT,
        "total_s": sum(page.number(s.get("seconds")) for s in run.steps),
    }


def _facts(run: Trajectory) -> list[tuple[str, str]]:
    """The run's header and totals: the result's own, else summed from the steps so far."""
    header = run.header
    t = _totals(run.steps) | (run.result or {})
    settings = page.typed(header.get("settings"), dict)
    facts = [
        ("model", header.get("model", "")),
        ("tool mode", header.get("tool_mode", "")),
        ("status", t.get("status", "unfinished")),
        ("steps", f"{len(run.steps)} of at most {header.get('max_steps', '?')}"),
        ("model calls", _int(t["model_calls"])),
        ("tokens in / out", f"{_int(t['prompt_tokens']):,} / {_int(t['completion_tokens']):,}"),
        ("wall s", page.seconds(t["wall_s"])),
        ("model s", page.seconds(t["model_s"])),
        ("malformed replies", _int(t["malformed_actions"])),
        ("cache hits", _int(t["cache_hits"])),
        ("cost USD", f"{page.number(t['cost_usd']):.4f}"),
        ("temperature", settings.get("temperature", "")),
        ("seed", settings.get("seed", "")),
        ("started (UTC)", _when(run.started) or run.path.stem),
        ("autocoder", header.get("version", "")),
    ]
    return [(k, str(v)) for k, v in facts]


def _totals(steps: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run's result says, summed from its steps (a run still going, or killed)."""
    ds = [s["decision"] for s in steps]
    usage = [page.typed(d.get("usage"), dict) for d in ds]

    def total(records: list[dict[str, Any]], key: str) -> float:
        return sum(page.number(r.get(key)) for r in records)

    return {
        "model_calls": total(ds, "calls"),
        "prompt_tokens": total(usage, "prompt_tokens"),
        "completion_tokens": total(usage, "completion_tokens"),
        "wall_s": total(steps, "seconds"),
        "model_s": total(ds, "seconds"),
        "malformed_actions": sum(bool(d.get("error")) for d in ds),
        "cache_hits": total(ds, "cached"),
        "cost_usd": total(usage, "cost_usd"),
    }


def _step(step: dict[str, Any], change: Any, prompt: str | None) -> dict[str, Any]:
    """One step: its row in the timeline, then what it opens to."""
    d, result, select = step["decision"], step["result"], step["select"]
    args = page.typed(d.get("args"), dict)
    action = str(d.get("action") or ("malformed" if d.get("error") else "none"))
    if isinstance(args.get("path"), str):
        action += f" {args['path']}"
    tags = ["ok" if result.get("ok") else "failed"]
    tags += ["malformed"] * bool(d.get("error")) + ["changed"] * bool(result.get("changed"))
    tags += ["sampled"] * bool(select or page.number(d.get("calls")) > 1)
    view = {
        "n": step["step"],
        "phase": str(step.get("phase", "")),
        "action": action,
        "ok": bool(result.get("ok")),
        "message": str(result.get("message", "")),
        "seconds": page.seconds(step.get("seconds")),
        "seconds_v": page.number(step.get("seconds")),
        "prompt": prompt if select else None,
        "change": _change(change) if isinstance(change, diffs.Change) else None,
        "change_note": change if isinstance(change, str) else "",
        "select": _select(select),
        "installs": [_install(i) for i in step["installs"]],
        "tags": " ".join(tags),
    }
    view |= _reply(d, args) | _observed(step["observation"])
    view["text"] = " ".join(str(view[k]) for k in ("phase", "action", "message", "thought")).lower()
    return view


def _reply(d: dict[str, Any], args: dict[str, Any]) -> dict[str, Any]:
    """What the model answered, and what it cost."""
    usage = page.typed(d.get("usage"), dict)
    tokens = page.number(usage.get("prompt_tokens")) + page.number(usage.get("completion_tokens"))
    return {
        "tokens": int(tokens),
        "calls": int(page.number(d.get("calls"))),
        "cached": int(page.number(d.get("cached"))),
        "thought": cut(str(d.get("thought", ""))),
        "raw": cut(str(d.get("raw", ""))),
        "error": str(d.get("error", "")),
        "cut": bool(d.get("cut")),
        "args": [(str(k), _arg(v)) for k, v in args.items()],
    }


def _observed(obs: dict[str, Any]) -> dict[str, Any]:
    """What the step started from, as the trajectory keeps it."""
    errors = page.typed(obs.get("file_errors"), dict)
    return {
        "checks": [(name, _check(obs.get(key))) for name, key in CHECKS],
        "files": [str(f) for f in page.typed(obs.get("files"), list)],
        "file_errors": [(str(k), str(v)) for k, v in errors.items()],
    }


def _select(record: dict[str, Any] | None) -> dict[str, Any] | None:
    if record is None:
        return None
    rows = []
    for c in page.typed(record.get("candidates"), list):
        if isinstance(c, dict):
            progress = page.typed(c.get("progress"), list)
            rows.append(
                {
                    "n": int(page.number(c.get("candidate"))) + 1,
                    "examples_right": c.get("examples_right", ""),
                    "agree": c.get("agree", ""),
                    "progress": list(zip(PROGRESS, progress, strict=False)),
                    "score": ", ".join(str(p) for p in progress),
                    "chosen": bool(c.get("chosen")),
                }
            )
    return {"rows": rows, "why": str(record.get("why", ""))}


def _change(change: diffs.Change) -> dict[str, Any]:
    files = [{"path": f.path, "note": f.note, "lines": f.lines} for f in change.files]
    return {"before": change.before, "after": change.after, "files": files}


def _install(record: dict[str, Any]) -> dict[str, Any]:
    names = record.get("distributions") or record.get("modules") or []
    what = ", ".join(map(str, names)) if isinstance(names, list) else str(names)
    return {"ok": bool(record.get("ok")), "what": what, "output": str(record.get("output", ""))}


def _plain_ask(goal: str) -> str:
    """A fresh start's prompt, rebuilt from the goal as this version asks it (the same version
    recorded the run): the plain chat turn every candidate was given."""
    from ..fresh import candidates
    from ..goal.code import given

    return "\n\n".join(m["content"] for m in candidates.ask(goal, given(goal)))


def _when(stamp: float | None) -> str:
    if stamp is None:
        return ""
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _int(value: Any) -> int:
    return int(page.number(value))


def _check(value: Any) -> str:
    return "none" if value is None else "pass" if value else "fail"


def _arg(value: Any) -> str:
    return cut(value if isinstance(value, str) else json.dumps(value, indent=1))


def cut(text: str) -> str:
    """At most MAX_TEXT characters of `text`, saying how many more there were."""
    if len(text) <= MAX_TEXT:
        return text
    return (
        f"{text[:MAX_TEXT]}\n[... {len(text) - MAX_TEXT} characters not shown: see the trajectory]"
    )


def _first_line(text: str, width: int = 90) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "(no goal)"
    return line if len(line) <= width else line[: width - 1] + "\u2026"
