"""How fast a long run's page is made and opens: a synthetic 200-step trajectory (each step a
reply, a file rewritten, a snapshot) rendered by `autocoder show`, then loaded by headless
chromium (--dump-dom: the page parsed, its script run, the DOM written out), against a one-step
page for chromium's own start-up.

python benchmarks/show_speed.py [steps] [runs]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from autocoder.project.workspace import Workspace
from autocoder.show import run_page

STEP_S = 1.0  # each synthetic step's seconds: the snapshots' times follow them


def synthetic(project: Path, steps: int) -> Path:
    """A project whose trajectory holds `steps` steps, each rewriting main.py (40 lines, one of
    them changed) after a reply of about 1.5 KB; a snapshot before each, timed as a run's."""
    ws = Workspace(project)
    runs = ws.private_dir("runs")
    begun = time.time() - steps * STEP_S - 60
    stamp = datetime.fromtimestamp(begun, UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = runs / f"{stamp}.jsonl"
    header = {"type": "run", "version": "0.1.0", "goal": "A synthetic goal\n" * 5, "model": "m"}
    lines = [json.dumps(header | {"tool_mode": "grammar", "max_steps": steps, "settings": {}})]
    for n in range(1, steps + 1):
        snap = ws.snapshot()
        if snap is not None:
            os.utime(snap, (begun + (n - 1) * STEP_S + 0.01,) * 2)
        code = "".join(
            f"def f{i}(x):\n    return x + {i if i != n % 40 else n}\n" for i in range(20)
        )
        ws.write("main.py", code, fmt=False)
        reply = f"Thought: step {n}, rewriting main.py\nAction: write_file\n{code}" + "x" * 600
        decision = {
            "thought": f"step {n}",
            "action": "write_file",
            "args": {"path": "main.py", "content": code},
            "raw": reply,
            "usage": {"prompt_tokens": 1500, "completion_tokens": 300},
            "seconds": 0.8,
            "calls": 1,
        }
        observation = {"files": ["main.py"], "file_errors": {}, "tests_ok": n % 3 != 0}
        result = {"ok": True, "message": "wrote main.py", "changed": ["main.py"]}
        step = {"type": "step", "step": n, "phase": "fix_main", "observation": observation}
        lines.append(json.dumps(step | {"decision": decision, "result": result, "seconds": STEP_S}))
    lines.append(json.dumps({"type": "result", "status": "max_steps", "reason": "limit"}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.utime(path, (begun + steps * STEP_S + 0.01,) * 2)
    return path


def load_s(chromium: str, page: Path, profile: Path) -> float:
    """Seconds for headless chromium to load `page`, run its script and dump the DOM."""
    flags = ["--headless", "--disable-gpu", "--no-sandbox", f"--user-data-dir={profile}"]
    start = time.perf_counter()
    dom = subprocess.run(
        [chromium, *flags, "--dump-dom", page.resolve().as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    took = time.perf_counter() - start
    assert 'data-ready="1"' in dom, "the page's script did not run"
    return took


def main(steps: int = 200, runs: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        long, short = synthetic(Path(tmp, "long"), steps), synthetic(Path(tmp, "short"), 1)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            page = run_page.write(long)
            times.append(time.perf_counter() - start)
        html = page.read_text(encoding="utf-8")
        added = html.count('class="add"')
        print(
            f"render {steps} steps: median {statistics.median(times):.3f} s, "
            f"min {min(times):.3f} s over {runs} runs; page {len(html) / 1e6:.2f} MB, "
            f"{added} added diff lines"
        )
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            print("chromium not installed: page load not measured")
            return
        small = run_page.write(short)
        profile = Path(tmp, "profile")
        base = statistics.median(load_s(chromium, small, profile) for _ in range(runs))
        full = statistics.median(load_s(chromium, page, profile) for _ in range(runs))
        print(
            f"chromium --dump-dom: {steps}-step page median {full:.2f} s, one-step page "
            f"{base:.2f} s (start-up), so about {max(full - base, 0):.2f} s for the page itself"
        )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
