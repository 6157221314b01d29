import subprocess
import sys
from pathlib import Path


def run(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "main.py", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_counts():
    Path("sample.txt").write_text("a b\nc\n")
    assert run("sample.txt").stdout.split() == ["2", "3", "6"]


def test_longer_file():
    Path("longer.txt").write_text("one two three\nfour five\n\nsix\n")
    assert run("longer.txt").stdout.split() == ["4", "6", "29"]


def test_missing_file_fails():
    out = run("no_such_file.txt")
    assert out.returncode == 1
    assert out.stderr.strip()
