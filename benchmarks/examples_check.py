"""How right are the examples autocoder reads from goals? Each HumanEval prompt's examples
(examples.extract) are run against the problem's canonical solution, in the sandbox, as the agent
runs them against a candidate: an example the canonical solution answers otherwise is wrong (in
the dataset itself, or misread).

    python benchmarks/examples_check.py [--limit N] [--show-wrong]

Prints goals with examples, examples read, and the wrong ones. No model runs.
"""

from __future__ import annotations

import argparse
import json
import sys

from autocoder import sandbox
from autocoder.bench.humaneval import GOAL, problems
from autocoder.goal import examples
from autocoder.project import checks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int)
    parser.add_argument("--show-wrong", action="store_true")
    args = parser.parse_args()
    policy = sandbox.require(False)
    counts = {"problems": 0, "with_examples": 0, "examples": 0, "wrong": 0}
    for p in problems()[: args.limit]:
        found = examples.extract(GOAL.format(prompt=p["prompt"].strip("\n")))
        counts["problems"] += 1
        if not found:
            continue
        with sandbox.scratch("examples-check") as tmp:
            (tmp / "main.py").write_text(p["prompt"] + p["canonical_solution"])
            result = checks.check(tmp, found, policy=policy)
        verdicts = (result.report or {}).get("results") or [False] * len(found)
        counts["with_examples"] += 1
        counts["examples"] += len(found)
        for example, ok in zip(found, verdicts, strict=False):
            if not ok:
                counts["wrong"] += 1
                if args.show_wrong:
                    print(p["task_id"], example.call, "==", example.want, file=sys.stderr)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
