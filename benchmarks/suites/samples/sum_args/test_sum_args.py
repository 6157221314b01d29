import subprocess
import sys


def run(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "main.py", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sums_whole_numbers():
    assert run("2", "3").stdout.strip() == "5"


def test_sums_decimals():
    assert float(run("1", "2", "3.5").stdout.strip()) == 6.5


def test_no_arguments_is_zero():
    assert run().stdout.strip() == "0"


def test_negative_numbers():
    assert run("10", "-4").stdout.strip() == "6"


def test_bad_argument_fails():
    out = run("1", "x")
    assert out.returncode == 1
    assert out.stderr.strip()
