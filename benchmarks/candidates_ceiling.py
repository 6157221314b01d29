"""How far is the choice from the best a bench run's candidates allowed? Every candidate a run
recorded (the trajectory's `select` lines) is judged by the goal's hidden acceptance tests, as
the bench judges a project: goals where some candidate passes (the ceiling of that run's
candidates), goals where the chosen one passes, and goals where some candidate answers an example.
No model runs: it reads a bench output folder and the suite it ran.

    autocoder bench SUITE --jobs 2 --no-cache --out RUN
    python benchmarks/candidates_ceiling.py RUN SUITE [--rows FILE]

--rows writes one JSON line per candidate (its screen, whether it was chosen, whether it passed,
its code), to try other selection rules offline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from autocoder import sandbox
from autocoder.bench.judge import judge_main
from autocoder.bench.suite import load


def rows(run: Path, suite: str) -> list[dict]:
    """Every recorded candidate of every fresh start, judged (each distinct main.py once)."""
    goals = {g.name: g for g in load(suite).goals}
    policy = sandbox.require()
    verdicts: dict[tuple[str, str], bool] = {}
    found = []
    for trajectory in sorted(run.glob("projects/*/try*/.autocoder/runs/*.jsonl")):
        name = trajectory.parents[3].name
        with trajectory.open(encoding="utf-8") as fh:
            selects = [e for e in map(json.loads, fh) if e.get("type") == "select"]
        for event in selects:
            for row in event["candidates"]:
                key = (name, row["main"])
                if key not in verdicts:
                    verdicts[key] = judge_main(row["main"], goals[name], policy)
                screened = row.get("screen") or {}
                found.append(
                    {
                        "goal": name,
                        "step": event["step"],
                        "candidate": row["candidate"],
                        "chosen": row["chosen"],
                        "right": screened.get("right", 0),
                        "shaky": screened.get("shaky", False),
                        "agree": row["agree"],
                        "passed": verdicts[key],
                        "main": row["main"],
                    }
                )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a bench output folder")
    parser.add_argument("suite", help="the suite it ran: humaneval, samples or a folder")
    parser.add_argument("--rows", type=Path, help="write every candidate's row here (JSON lines)")
    args = parser.parse_args()
    found = rows(args.run, args.suite)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in found), encoding="utf-8")
    goals = sorted({r["goal"] for r in found})
    some = {r["goal"] for r in found if r["passed"]}
    chosen = {r["goal"] for r in found if r["passed"] and r["chosen"]}
    answered = {r["goal"] for r in found if r["right"]}
    print(f"{len(found)} candidates of {len(goals)} goals")
    print(f"goals where some candidate answers an example: {len(answered)}")
    print(f"goals where some candidate passes the hidden tests (the ceiling): {len(some)}")
    print(f"goals where a chosen candidate passes: {len(chosen)}")
    for name in sorted(some - chosen):
        passing = [r["candidate"] for r in found if r["goal"] == name and r["passed"]]
        print(f"  missed: {name}, candidates {passing} pass")


if __name__ == "__main__":
    main()
