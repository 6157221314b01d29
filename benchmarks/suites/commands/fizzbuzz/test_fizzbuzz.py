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


def test_fizzbuzz():
    assert run("15") == "FizzBuzz"
    assert run("3") == "Fizz"
    assert run("4") == "4"
    assert run("5") == "Buzz"
    assert run("30") == "FizzBuzz"
