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


def test_add_up():
    assert run("3", "4", "5") == "12"
    assert run("2") == "2"
    assert run("10", "-4") == "6"
