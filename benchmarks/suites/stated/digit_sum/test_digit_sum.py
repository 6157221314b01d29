from main import digit_sum


def test_digit_sum():
    assert digit_sum(123) == 6
    assert digit_sum(0) == 0
    assert digit_sum(9) == 9
    assert digit_sum(1001) == 2
    assert digit_sum(987654) == 39
