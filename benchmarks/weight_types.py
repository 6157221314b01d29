"""The embedded model as stored (Q4_1) against as run (Q8_0, providers/gguf.runnable).

For each file, on `threads` threads: the seconds to evaluate the agent's action prompt (system
message, worked examples and a step's ask: what a judging step evaluates), the milliseconds a
token of 16 sequences decoding together (providers/batch.py, a fresh start's warm candidates)
and of one token alone. Run it alone on the cores.

python benchmarks/weight_types.py [threads] [repeats]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from autocoder.bench import humaneval
from autocoder.fresh import candidates
from autocoder.loop.prompt import examples
from autocoder.providers.gguf import embedded_model_path, file_sha256, load, runnable


def timings(path: Path, threads: int, repeats: int) -> tuple[float, float, float]:
    llm = load(str(path), 4096, threads)
    step = [{"role": "user", "content": humaneval.problems()[10]["prompt"] * 2}]
    prompt = [{"role": "system", "content": "You are autocoder."}, *examples(), *step]
    tokens = llm.tokenize(
        "\n".join(m["content"] for m in prompt).encode(), add_bos=True, special=False
    )
    evals, singles = [], []
    for _ in range(repeats):
        llm.reset()
        start = time.perf_counter()
        llm.eval(tokens)
        evals.append(time.perf_counter() - start)
        start = time.perf_counter()
        for t in tokens[:20]:
            llm.eval([t])
        singles.append((time.perf_counter() - start) / 20)
    from autocoder.providers.batch import Batcher

    batcher = Batcher(llm, threads)
    passes: list[tuple[int, float]] = []  # (sequences decoded, seconds) of each generating pass
    decode = batcher._decode

    def timed(items: list) -> None:
        start = time.perf_counter()
        decode(items)
        if len(items) <= 16:  # a prompt is evaluated in bigger chunks
            passes.append((len(items), time.perf_counter() - start))

    batcher._decode = timed  # type: ignore[method-assign]
    ask = candidates.ask("", humaneval.problems()[0]["prompt"])
    text = "\n".join(m["content"] for m in ask)
    asked = tuple(llm.tokenize(text.encode(), add_bos=True, special=False))
    for _ in range(repeats):
        batcher.sample([asked] * 16, [0.4] * 16, list(range(16)), 48, ())
    batcher.close()
    per_token = sum(t for _, t in passes) / sum(n for n, _ in passes)
    return statistics.median(evals), per_token, statistics.median(singles)


def main(threads: int = 1, repeats: int = 3) -> None:
    stored = embedded_model_path()
    with tempfile.TemporaryDirectory() as tmp:
        run = runnable(stored, file_sha256(stored), Path(tmp))
        assert run != stored, "the embedded model is not converted"
        rows = {name: timings(p, threads, repeats) for name, p in (("Q4_1", stored), ("Q8_0", run))}
    print(f"{threads} thread(s), medians of {repeats}")
    for name, (evaluate, step, single) in rows.items():
        print(
            f"{name}: action prompt {evaluate:.2f} s; 16 sequences {1000 * step:.1f} ms a token; "
            f"one token {1000 * single:.1f} ms"
        )
    (e1, s1, o1), (e2, s2, o2) = rows.values()
    print(f"ratios Q4_1/Q8_0: prompt {e1 / e2:.2f}, 16 sequences {s1 / s2:.2f}, one {o1 / o2:.2f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
