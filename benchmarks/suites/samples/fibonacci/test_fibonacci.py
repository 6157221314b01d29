from main import fib


def test_first_numbers():
    assert [fib(n) for n in range(10)] == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]


def test_large_n_is_fast_and_exact():
    assert fib(100) == 354224848179261915075
    a, b = 0, 1
    for _ in range(500):
        a, b = b, a + b
    assert fib(500) == a
