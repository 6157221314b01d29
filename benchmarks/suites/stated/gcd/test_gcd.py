from main import gcd


def test_gcd():
    assert gcd(12, 18) == 6
    assert gcd(7, 5) == 1
    assert gcd(100, 75) == 25
    assert gcd(9, 9) == 9
    assert gcd(1, 40) == 1
