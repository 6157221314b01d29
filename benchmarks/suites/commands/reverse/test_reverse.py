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


def test_reverse():
    assert run("hello") == "olleh"
    assert run("abc") == "cba"
    assert run("ab cd") == "dc ba"
