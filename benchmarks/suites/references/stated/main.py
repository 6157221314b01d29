"""Reference solutions of benchmarks/suites/stated, one module for its twelve goals (each goal's
hidden test imports its function from main.py): tests/bench/test_bench.py judges each goal on it."""

import math


def gcd(a, b):
    return math.gcd(a, b)


def count_vowels(s):
    return sum(c in "aeiouAEIOU" for c in s)


def factorial(n):
    return math.factorial(n)


def largest(numbers):
    return max(numbers)


def evens(numbers):
    return [n for n in numbers if n % 2 == 0]


def title_words(s):
    return " ".join(w[:1].upper() + w[1:] for w in s.split(" "))


def digit_sum(n):
    return sum(map(int, str(n)))


def to_fahrenheit(c):
    return c * 9 / 5 + 32


def reverse_string(s):
    return s[::-1]


def is_leap(year):
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def second_largest(numbers):
    return sorted(set(numbers))[-2]


def count_words(s):
    return len(s.split())


if __name__ == "__main__":
    print(gcd(12, 18))
