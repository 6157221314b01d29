import subprocess
import sys

from main import word_count


def run(*args, stdin=""):
    return subprocess.run(
        [sys.executable, "main.py", *args],
        check=False,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_counts_words_case_and_punctuation_insensitively():
    assert word_count("The cat and the hat. THE END!") == {
        "the": 3,
        "cat": 1,
        "and": 1,
        "hat": 1,
        "end": 1,
    }


def test_empty_text():
    assert word_count("") == {}


def test_cli_orders_by_count_then_word():
    out = run(stdin="b a b c a b\n")
    assert out.returncode == 0
    assert out.stdout.strip().splitlines() == ["b 3", "a 2", "c 1"]
