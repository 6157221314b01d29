"""A local run, then the identical run again from the response cache; and the KV-prefix reuse of
the first run, step by step (prompt tokens sent vs tokens llama.cpp really evaluated).

    python benchmarks/cache_and_kv.py [--goal TEXT] [--steps 10] [--samples 1] [--reruns 5]
                                      [--model smollm2]

Each run is a fresh `autocoder run` process sharing one fresh cache folder; the projects go to
separate folders, so the reruns' prompts match only because nothing machine-specific is in them.
The rerun is timed --reruns times (median reported: this machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(
    goal: str, folder: Path, args: argparse.Namespace, env: dict[str, str]
) -> tuple[float, dict]:
    exe = shutil.which("autocoder")
    cmd = [exe] if exe else [sys.executable, "-m", "autocoder"]
    cmd += [
        "run",
        goal,
        "-d",
        str(folder),
        "--model",
        args.model,
        "--max-steps",
        str(args.steps),
        "--samples",
        str(args.samples),
        "--json",
        "--log-level",
        "quiet",
    ]
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - start
    if out.returncode not in (0, 1):
        sys.exit(f"autocoder failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    return seconds, json.loads(out.stdout.strip().splitlines()[-1])


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.glob("*.py"))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--goal", default="A function add(a, b) that returns a + b, with tests")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1)
    parser.add_argument("--reruns", type=int, default=5)
    parser.add_argument("--model", default="smollm2")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="autocoder-bench-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "AUTOCODER_CACHE_DIR": str(root / "cache")}
        first_s, first = run(args.goal, root / "first", args, env)
        times, same = [], True
        for n in range(args.reruns):
            seconds, rerun = run(args.goal, root / f"rerun{n}", args, env)
            times.append(seconds)
            same = same and files(root / "first") == files(root / f"rerun{n}")
        rerun_s = statistics.median(times)
        steps = [json.loads(line) for line in Path(first["trajectory"]).read_text().splitlines()]
        steps = [s for s in steps if s["type"] == "step"]

    print(
        f"goal: {args.goal!r}, model {args.model}, {args.steps} steps max, samples {args.samples}"
    )
    print(
        f"first run : {first_s:7.2f} s  status {first['status']}, {first['steps']} steps, "
        f"{first['model_calls']} model calls, {first['cache_hits']} cached, "
        f"model {first['model_s']:.2f} s"
    )
    print(
        f"rerun     : {rerun_s:7.2f} s  "
        f"(median of {len(times)}: {min(times):.2f}..{max(times):.2f}) "
        f"status {rerun['status']}, {rerun['steps']} steps, "
        f"{rerun['model_calls']} model calls, {rerun['cache_hits']} cached, "
        f"model {rerun['model_s']:.2f} s"
    )
    print(
        f"speed-up  : {first_s / rerun_s:.1f}x wall, model calls made on rerun: "
        f"{rerun['model_calls'] - rerun['cache_hits']}, same files: {same}"
    )
    print("\nKV-prefix reuse of the first run (prompt tokens sent -> evaluated by llama.cpp):")
    sent = evaluated = 0
    for s in steps:
        usage = s["decision"]["usage"]
        sent += usage["prompt_tokens"]
        evaluated += max(usage["evaluated_tokens"], 0)
        share = usage["evaluated_tokens"] / usage["prompt_tokens"] if usage["prompt_tokens"] else 0
        print(
            f"  step {s['step']:2d} {s['phase']:9s} "
            f"{usage['prompt_tokens']:6d} -> {usage['evaluated_tokens']:6d}  ({share:.0%})"
        )
    if sent:
        print(
            f"  total    {sent:6d} -> {evaluated:6d}  "
            f"({evaluated / sent:.0%} evaluated, {1 - evaluated / sent:.0%} reused)"
        )


if __name__ == "__main__":
    main()
