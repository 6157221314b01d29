"""Cost of isolation per sandboxed run: `python -c 'print(1)'` isolated vs unconfined (medians).

python benchmarks/sandbox_overhead.py [runs] [bwrap|unshare]   (default: the best backend here)
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from autocoder import sandbox


def median_run(folder: Path, runs: int, policy: sandbox.Sandbox) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = sandbox.python(["-c", "print(1)"], folder, policy=policy)
        times.append(time.perf_counter() - start)
        assert result.ok, result.output
    return statistics.median(times)


def main(runs: int = 20, backend: str = "") -> None:
    with tempfile.TemporaryDirectory() as tmp:
        kind = backend or sandbox.backend() or "none"
        box = sandbox.Sandbox(backend=backend) if backend else sandbox.SAFE
        isolated = median_run(Path(tmp), runs, box) if kind != "none" else float("nan")
        plain = median_run(Path(tmp), runs, sandbox.Sandbox(unsafe=True, backend=""))
    print(
        f"isolated ({kind}): median {isolated * 1000:.0f} ms; "
        f"unconfined: median {plain * 1000:.0f} ms; ratio {isolated / plain:.2f} ({runs} runs each)"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, sys.argv[2] if len(sys.argv) > 2 else "")
