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


def test_largest():
    assert run("3", "9", "2") == "9"
    assert run("5") == "5"
    assert run("10", "9") == "10"
    assert run("-3", "-7") == "-3"
