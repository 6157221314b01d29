"""Does the choice lose a passing candidate? Reads a bench's folder (`autocoder bench SUITE
--out DIR`), runs the suite's hidden tests on every distinct candidate of each goal's first fresh
start that answers every example the goal states, and prints, per goal with such a candidate:
how many there were, how many pass, and whether the chosen one passed.

    python benchmarks/right_candidates.py SUITE DIR

Runs no model: only the sandboxed hidden tests (about 0.6 s a candidate).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from autocoder import sandbox
from autocoder.bench.judge import judge_main
from autocoder.bench.suite import load
from autocoder.goal.examples import extract


def main(suite: str, out: Path) -> None:
    policy = sandbox.require(False)
    goals = {goal.name.replace("/", "_").lower(): goal for goal in load(suite).goals}
    records = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines() if x]
    passed = {r["goal"]: bool(r.get("passed")) for r in records}
    lost = found = 0
    for path in sorted(out.glob("projects/*/try0/.autocoder/runs/*.jsonl")):
        name = path.parts[-5]
        goal, lines = goals.get(name), path.read_text().splitlines()
        selects = [r for r in map(json.loads, lines) if r.get("type") == "select"]
        count = len(extract(goal.goal)) if goal else 0
        if not selects or not count:
            continue
        rows = selects[0]["candidates"]
        right = [c["main"] for c in rows if (c["screen"] or {}).get("right", 0) == count]
        mains = list(dict.fromkeys(right))
        if not mains:
            continue
        verdicts = [judge_main(main, goal, policy) for main in mains]
        found += 1
        lost += any(verdicts) and not passed.get(name, False)
        print(
            f"{name}: {len(mains)} right on the examples, {sum(verdicts)} pass; chosen "
            f"{'passed' if passed.get(name) else 'failed'}"
        )
    print(f"{found} goals had a candidate answering every example; the choice lost {lost}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], Path(sys.argv[2]))
