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


def test_prints_hello_world():
    out = run()
    assert out.returncode == 0
    assert out.stdout.strip() == "Hello, World!"
