import subprocess
import sys


def run(*args):
    done = subprocess.run(
        [sys.executable, "main.py", *args],
        check=False,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


def test_upper():
    assert run("hello", "world") == "HELLO WORLD"
    assert run("a") == "A"
    assert run("Mixed", "Case") == "MIXED CASE"
