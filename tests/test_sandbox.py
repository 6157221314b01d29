"""The runner of model-written code: secrets stay out, limits hold, the agent survives."""

import sys
import time
from pathlib import Path

from autocoder import sandbox


def test_secrets_never_reach_the_child(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-4242")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-canary-4242")
    res = sandbox.python(["-c", "import os; print(sorted(os.environ.items()))"], tmp_path)
    assert res.ok and "canary-4242" not in res.output
    code = f"import os; h = os.environ['HOME']; print('autocoder-home-' in h, h != {str(Path.home())!r})"
    home = sandbox.python(["-c", code], tmp_path).output.strip()
    assert home == "True True"  # a scratch HOME, not the user's


def test_timeout_kills_the_whole_group(tmp_path):
    script = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    start = time.monotonic()
    res = sandbox.python(["-c", script], tmp_path, timeout=1.0)
    assert res.timed_out and not res.ok and time.monotonic() - start < 10
    assert "timed out after 1 s" in res.output


def test_memory_limit_is_contained(tmp_path):
    res = sandbox.python(["-c", "x = bytearray(4 * 1024**3)"], tmp_path)
    assert not res.ok and "MemoryError" in res.output


def test_long_output_keeps_head_and_tail(tmp_path):
    res = sandbox.python(["-c", "print('START'); print('x' * 100000); print('END')"], tmp_path)
    assert res.ok and res.output.startswith("START") and res.output.rstrip().endswith("END")
    assert "characters cut" in res.output and len(res.output) < 5000


def test_stdin_is_empty_not_the_terminal(tmp_path):
    res = sandbox.run([sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"], tmp_path)
    assert res.ok and res.output.strip() == "''"
