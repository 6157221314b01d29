import subprocess
import sys

from main import celsius_to_fahrenheit, fahrenheit_to_celsius


def run(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "main.py", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_functions():
    assert celsius_to_fahrenheit(100) == 212
    assert celsius_to_fahrenheit(-40) == -40
    assert abs(fahrenheit_to_celsius(98.6) - 37) < 1e-9


def test_cli():
    assert float(run("100", "C").stdout.strip()) == 212.0
    assert float(run("32", "F").stdout.strip()) == 0.0
    assert float(run("-40", "C").stdout.strip()) == -40.0
