"""Median start-up time of `autocoder --help` (target: under 0.5 s; no litellm or llama_cpp import).

python benchmarks/startup.py [runs]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time


def main(runs: int = 15) -> None:
    exe = shutil.which("autocoder")
    cmd = [exe, "--help"] if exe else [sys.executable, "-m", "autocoder", "--help"]
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    heavy = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, autocoder.cli; "
            "print(sorted(m for m in ('litellm','llama_cpp','jinja2') if m in sys.modules))",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(
        f"autocoder --help: median {statistics.median(times):.3f} s, min {min(times):.3f} s, "
        f"max {max(times):.3f} s over {runs} runs"
    )
    print(f"heavy modules imported by the CLI: {heavy}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 15)
