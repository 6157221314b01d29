"""Right candidates per CPU-second: what a bench of HumanEval's first goals spends, and gets.

    python benchmarks/candidate_rate.py [--limit 40] [--keep DIR] [--jobs 1] [other bench options]

Runs `autocoder bench humaneval --no-cache` on the first goals (the tuning split: HumanEval is the
suite we tune on), then reads each run's trajectory: how many candidates its fresh start made,
and whether one of them answered every example the goal states. Prints the CPU seconds of the
whole bench (its processes and every sandboxed child), candidates per CPU-second, the goals that
got a candidate answering every example, and the passes. Run it alone on the machine.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from autocoder.goal.examples import extract


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def _runs(out: Path) -> list[list[dict]]:
    """Every trajectory under the bench's projects, as its records."""
    found = sorted(out.glob("projects/*/try*/.autocoder/runs/*.jsonl"))
    return [[json.loads(x) for x in p.read_text().splitlines() if x.strip()] for p in found]


def _counts(run: list[dict]) -> tuple[int, bool]:
    """Candidates made by the run's fresh starts, and whether one answered every example."""
    examples = len(extract(run[0].get("goal", ""))) if run else 0
    made, every = 0, False
    for record in run:
        if record.get("type") == "select":
            made += len(record["candidates"])
            every |= bool(examples) and any(
                c["examples_right"] >= examples for c in record["candidates"]
            )
    return made, every


def main(argv: list[str]) -> None:
    limit = argv[argv.index("--limit") + 1] if "--limit" in argv else "40"
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else ""  # the bench's folder, kept
    ours = ("--limit", "--keep")
    rest = [a for i, a in enumerate(argv) if a not in ours and (i == 0 or argv[i - 1] not in ours)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", "autocoder", "bench", "humaneval", "--limit", limit]
        command += ["--no-cache", "--out", str(out), "--json", *rest]
        before = _cpu()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        cpu = _cpu() - before
        if done.returncode not in (0, 1):
            sys.exit(done.stderr[-2000:])
        records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines()]
        counts = [_counts(run) for run in _runs(out)]
        if keep:
            shutil.copytree(out, keep)
    made = sum(m for m, _ in counts)
    every = sum(e for _, e in counts)
    passed = sum(bool(r.get("passed")) for r in records)
    wall = sum(r.get("wall_s", 0.0) for r in records)
    print(
        f"{len(records)} goals: {made} candidates in {cpu:.0f} CPU s "
        f"({made / cpu:.3f} a CPU-second); {every} goals had a candidate answering every example; "
        f"{passed} passed; agent wall {wall:.0f} s in all"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
