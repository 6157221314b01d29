# ruff: noqa: E712  (MBPP's own asserts, == True and == False as the task states them)
from main import is_not_prime


def test_is_not_prime():
    assert is_not_prime(2) == False
    assert is_not_prime(10) == True
    assert is_not_prime(35) == True
