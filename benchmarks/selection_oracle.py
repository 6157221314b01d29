"""How good is the choice among candidates? For each goal of a suite, make the fresh start's
candidates (as the agent does: the first greedy, the rest at candidates.SAMPLE_TEMPERATURE), run
the hidden acceptance tests on every one, and count: goals the greedy candidate passes, goals
some candidate passes (the ceiling: pass@N), goals the chosen one passes (select.choose over all
N; the agent stops sampling early at a candidate that is green and answers every example).

    python benchmarks/selection_oracle.py humaneval [--samples 8] [--limit N] [--out FILE]

Each candidate with its score and verdict goes to --out (JSON lines), to try other selection
rules offline. Uses the response cache: a bench run with the same options made these calls.
Runs the model: run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from autocoder import sandbox
from autocoder.bench.options import BenchOptions
from autocoder.bench.suite import load
from autocoder.bench.worker import judge, make_provider, open_store
from autocoder.fresh import candidates, probes, select
from autocoder.goal import examples
from autocoder.project.observe import observe
from autocoder.project.workspace import Workspace
from autocoder.providers import Settings


def candidate_rows(goal, provider, samples: int, max_tokens: int, policy) -> list[dict]:
    exs, given = examples.extract(goal.goal), examples.given(goal.goal)
    asked = candidates.ask(goal.goal, given)
    calls = () if exs else probes.shown(goal.goal, given)  # as fresh/sampling.py
    rows = []
    for k in range(samples):
        temperature = candidates.SAMPLE_TEMPERATURE if k else 0.0
        settings = Settings(
            temperature=temperature, seed=k, max_tokens=max_tokens, stop=candidates.STOP
        )
        reply = provider.complete(asked, [], settings)
        main = candidates.normalize(candidates.code(reply.raw), given, exs, calls)
        with tempfile.TemporaryDirectory(prefix="autocoder-oracle-") as tmp:
            ws = Workspace(Path(tmp))
            ws.write("main.py", main)
            ws.write("main_test.py", candidates.first_tests(exs))
            trial = select.Trial.of(observe(ws, exs, policy=policy))
            passed = judge(ws.root, goal, policy)[0]
        rows.append(
            {
                "k": k,
                "main": main,
                "progress": list(trial.progress),
                "behaviour": trial.behaviour,
                "passed": passed,
                "seconds": reply.seconds,
                "tokens": reply.usage.completion_tokens,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite")
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--limit", type=int)
    parser.add_argument("--max-tokens", type=int, default=384)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    policy = sandbox.require(False)
    options = BenchOptions(max_tokens=args.max_tokens)
    provider = make_provider(options, store=open_store(options))
    counts = {"goals": 0, "greedy": 0, "ceiling": 0, "chosen": 0}
    out = args.out.open("w", encoding="utf-8") if args.out else None
    for goal in load(args.suite, args.limit).goals:
        rows = candidate_rows(goal, provider, args.samples, args.max_tokens, policy)
        chosen, _, why = select.choose(
            [select.Trial(tuple(r["progress"]), r["behaviour"]) for r in rows]
        )
        counts["goals"] += 1
        counts["greedy"] += rows[0]["passed"]
        counts["ceiling"] += any(r["passed"] for r in rows)
        counts["chosen"] += rows[chosen]["passed"]
        print(
            goal.name,
            "".join("+" if r["passed"] else "." for r in rows),
            "chose",
            chosen,
            file=sys.stderr,
        )
        if out:
            out.write(
                json.dumps({"goal": goal.name, "chosen": chosen, "why": why, "candidates": rows})
                + "\n"
            )
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
