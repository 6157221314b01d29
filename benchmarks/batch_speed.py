"""Warm candidates one by one against decoded together (providers/batch.py), embedded model.

For the first N HumanEval prompts (the fresh start's plain ask), K warm samples at the candidate
temperature with the candidate stop: once by `complete` per seed, once by `complete_many`. Prints
the median seconds per candidate of each and their ratio (a plain greedy call per prompt too, the
issue's yardstick for one candidate's model time). Run it alone on the cores.

python benchmarks/batch_speed.py [N prompts] [K samples] [threads]
"""

from __future__ import annotations

import statistics
import sys

from autocoder.bench import humaneval
from autocoder.fresh import candidates
from autocoder.providers import Settings
from autocoder.providers.gguf import embedded_model_path
from autocoder.providers.llama_cpp import LlamaCppProvider


def main(n: int = 6, k: int = 8, threads: int = 2) -> None:
    model = LlamaCppProvider(embedded_model_path(), n_ctx=4096, threads=threads)
    plain, one, together = [], [], []
    for p in humaneval.problems()[:n]:
        ask = candidates.ask("", p["prompt"])
        base = Settings(max_tokens=384, stop=candidates.STOP)
        warm = [
            base.model_copy(update={"temperature": candidates.SAMPLE_TEMPERATURE, "seed": s})
            for s in range(1, k + 1)
        ]
        plain.append(model.complete(ask, [], Settings(max_tokens=384)).seconds)
        one.append(sum(model.complete(ask, [], s).seconds for s in warm) / k)
        together.append(
            sum(d.seconds for d in model.complete_many([(ask, s) for s in warm], [])) / k
        )
    print(f"{n} prompts, {k} warm samples each, {threads} threads")
    print(f"plain greedy call (with its prose):  median {statistics.median(plain):.2f} s")
    print(f"warm candidate one by one:           median {statistics.median(one):.2f} s")
    print(f"warm candidate decoded together:     median {statistics.median(together):.2f} s")
    print(
        f"ratio one-by-one / together: {statistics.median(one) / statistics.median(together):.2f}"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
