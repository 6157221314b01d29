from main import is_prime


def test_small_numbers():
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


def test_not_prime():
    for n in (-7, 0, 1, 4, 9, 25, 49, 91, 7919 * 7907):
        assert is_prime(n) is False


def test_large_prime():
    assert is_prime(7919) is True
    assert is_prime(1_000_003) is True
