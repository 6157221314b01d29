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


def test_count():
    assert run("a", "b", "c") == "3"
    assert run() == "0"
    assert run("x") == "1"
