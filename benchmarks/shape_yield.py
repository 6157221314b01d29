"""What each prompt shape finds: right candidates per goal, shape by shape, before the hidden tests
and after them. The way to judge a new shape (fresh/shapes.py) before it goes into the product.

    python benchmarks/shape_yield.py [--shapes complete,as_said] [--goals 0:80] [--n 8]
                                     [--temperature 0.4] [--list FILE]

For each HumanEval goal in the range that states examples (the tuning suite), each shape is asked
for n warm candidates in a round of its own (a round of two prompts can change the first one's
replies: docs/measurements.md), as a fresh start asks them: temperature 0.4 (or --temperature),
seeds 1..n, at most 256 tokens, the reply ended where the goal's function is written. Each
candidate is screened on the goal's examples in the sandbox, and those answering every one are
judged by the hidden tests. Prints, per shape, the goals with a candidate answering every example
and with a passing one, the goals only that shape found, its tokens and its seconds of decoding;
--list writes each shape's goals as JSON, to compare two runs (another temperature, another
revision). Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from autocoder import sandbox
from autocoder.bench import humaneval
from autocoder.bench.judge import judge_main
from autocoder.fresh import candidates, sampling, screen, shapes
from autocoder.goal import ending
from autocoder.goal.brief import Brief
from autocoder.providers.base import Settings
from autocoder.providers.gguf import embedded_model_path
from autocoder.providers.llama_cpp import LlamaCppProvider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default="complete,as_said", help="names in fresh/shapes.py")
    parser.add_argument("--goals", default="0:40", help="HumanEval's goals, as a slice A:B")
    parser.add_argument("--n", type=int, default=8, help="candidates a shape asks for a goal")
    parser.add_argument(
        "--temperature", type=float, default=candidates.SAMPLE_TEMPERATURE, help="of every sample"
    )
    parser.add_argument("--list", default="", help="write each shape's goals to this JSON file")
    args = parser.parse_args()
    asked = {name: getattr(shapes, name) for name in args.shapes.split(",")}
    start, end = (int(x) for x in args.goals.split(":"))
    policy = sandbox.require(False)
    provider = LlamaCppProvider(embedded_model_path())
    every: dict[str, set[str]] = {name: set() for name in asked}
    passing: dict[str, set[str]] = {name: set() for name in asked}
    tokens = dict.fromkeys(asked, 0)
    seconds = dict.fromkeys(asked, 0.0)
    for goal in humaneval.goals()[start:end]:
        brief = Brief.read(goal.goal)
        examples = brief.examples
        if not examples:
            continue
        function = ending.function(brief.given, examples)
        for name, shape in asked.items():
            settings = [
                Settings(
                    max_tokens=sampling.FLOOR,
                    temperature=args.temperature,
                    seed=k,
                    stop=candidates.STOP,
                    function=function,
                )
                for k in range(1, args.n + 1)
            ]
            began = time.perf_counter()
            replies = provider.complete_many([(shape(brief), s) for s in settings], [])
            seconds[name] += time.perf_counter() - began
            tokens[name] += sum(r.usage.completion_tokens for r in replies)
            mains = [
                candidates.normalize(candidates.code(r.raw, function), brief.given, examples)
                for r in replies
            ]
            screened = screen.screen(mains, checks=examples, policy=policy) or []
            right = {m for m, s in zip(mains, screened, strict=False) if s.right == len(examples)}
            if right:
                every[name].add(goal.name)
            if any(judge_main(main, goal, policy) for main in right):
                passing[name].add(goal.name)
        found = [name for name in asked if goal.name in every[name]]
        print(f"{goal.name}: every example by {', '.join(found) or 'none'}", flush=True)
    for name in asked:
        others = set().union(*(passing[o] for o in asked if o != name))
        print(
            f"{name}: {len(every[name])} goals with a candidate answering every example, "
            f"{len(passing[name])} with a passing one (only this shape: "
            f"{', '.join(sorted(passing[name] - others)) or 'none'}); "
            f"{tokens[name]} tokens, {seconds[name]:.0f} s"
        )
    if args.list:
        kinds = {"every": every, "passing": passing}
        listed = {kind: {n: sorted(g) for n, g in by.items()} for kind, by in kinds.items()}
        Path(args.list).write_text(json.dumps(listed, indent=1))


if __name__ == "__main__":
    main()
