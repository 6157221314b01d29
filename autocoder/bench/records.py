"""A bench output folder: records.jsonl (one record per goal and try, appended as each finishes),
manifest.json (how the run was made), and what resume reads back from them."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .._version import __version__
from ..exceptions import AutocoderError
from .options import DEFAULTS, BenchOptions, Task
from .suite import Suite

RECORDS, MANIFEST = "records.jsonl", "manifest.json"
# The options that change what a record says: --resume refuses to mix records made otherwise.
RESULT_OPTIONS = (
    "model",
    "api_base",
    "tool_mode",
    "single_shot",
    "plain",
    "samples",
    "max_steps",
    "temperature",
    "max_tokens",
    "seed",
    "timeout_s",
)


class Record(BaseModel):
    """The fields of a record that resume, summary and compare read; others are kept as they are."""

    model_config = ConfigDict(extra="allow", strict=True)

    suite: str
    goal: str
    try_: int = Field(alias="try", ge=0)
    model: str
    tool_mode: str
    passed: bool
    status: str
    steps: int
    model_calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    wall_s: float
    model_s: float
    harness_s: float
    malformed_actions: int


def read_records(out: Path) -> list[dict[str, Any]]:
    """Every record of `out`. A last line without its newline was cut by a crash: it is left out
    (that goal runs again). Any other line that is not a record is one clear error."""
    path = out / RECORDS
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise AutocoderError(f"{path} cannot be read ({exc}): choose another --out") from None
    lines = text.split("\n")
    lines.pop()  # the empty rest after the last newline, or the line a crash cut
    records = []
    for n, line in enumerate(lines, 1):
        try:
            record = json.loads(line)
            Record.model_validate(record)
        except ValueError as exc:
            why = _why(exc) if isinstance(exc, ValidationError) else str(exc).splitlines()[0]
            raise AutocoderError(
                f"{path}:{n} is not a bench record ({why}): remove that line, or choose another"
                " --out"
            ) from None
        records.append(record)
    return records


def _why(exc: ValidationError) -> str:
    err = exc.errors()[0]
    return f"{'.'.join(map(str, err['loc'])) or 'record'}: {err['msg']}"


def set_aside_cut_line(out: Path) -> None:
    """A crash can cut the last record short: move that fragment to records.jsonl.cut, so the next
    record starts on a line of its own and nothing is glued to it or lost."""
    path = out / RECORDS
    if not path.is_file() or path.stat().st_size == 0:
        return
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    keep = data.rfind(b"\n") + 1
    with (out / (RECORDS + ".cut")).open("ab") as fh:
        fh.write(data[keep:] + b"\n")
    with path.open("r+b") as fh:
        fh.truncate(keep)


def tasks_to_run(suite: Suite, options: BenchOptions, out: Path, resume: bool) -> list[Task]:
    """Every goal and try of `suite` that `out` holds no record of (with `resume`; without it, a
    folder that holds records is refused)."""
    done = {(r["goal"], r["try"]) for r in read_records(out)}
    if done and not resume:
        raise AutocoderError(
            f"{out} already holds bench records: add --resume to go on with it, or choose"
            " another --out"
        )
    return [
        Task(g, t) for g in suite.goals for t in range(options.tries) if (g.name, t) not in done
    ]


def same_settings(out: Path, options: BenchOptions) -> None:
    """--resume goes on with the run recorded in `out`, never mixes in records made otherwise."""
    path = out / MANIFEST
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AutocoderError(
            f"{path} is damaged ({exc}): choose another --out to start afresh"
        ) from None
    before = data.get("options") if isinstance(data, dict) else None
    if not isinstance(before, dict):
        raise AutocoderError(
            f"{path} is damaged (no options): choose another --out to start afresh"
        )
    now = options.model_dump()
    changed = [k for k in RESULT_OPTIONS if k in before and before[k] != now[k]]
    was = data.get("defaults")  # what an option left out took then
    if isinstance(was, dict) and was != DEFAULTS and read_records(out):
        raise AutocoderError(
            f"{out} was recorded with the defaults {was}, this autocoder has {DEFAULTS}: resume it"
            " with the autocoder that began it, or use another --out"
        )
    if changed and read_records(out):
        k = changed[0]
        raise AutocoderError(
            f"{out} was recorded with {k}={before[k]!r}, not {now[k]!r}: use the same options"
            " to resume, or another --out"
        )


def manifest(suite: Suite, options: BenchOptions, provider: Any) -> dict[str, Any]:
    """How this run is made: versions, model, options and machine (never the API key)."""
    return {
        "autocoder": __version__,
        "git_revision": _git_revision(),
        "suite": suite.name,
        "goals": len(suite.goals),
        "model": getattr(provider, "name", options.model),
        "model_identity": getattr(provider, "identity", {}),
        "tool_mode": getattr(provider, "tool_mode", ""),
        "options": options.model_dump(),
        "defaults": DEFAULTS,
        "temperature": options.sampling_temperature,
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.system(),
            "machine": platform.machine(),
        },
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""
