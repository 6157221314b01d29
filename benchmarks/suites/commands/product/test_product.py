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


def test_product():
    assert run("2", "3", "4") == "24"
    assert run("5") == "5"
    assert run("10", "0") == "0"
