from main import second_largest


def test_second_largest():
    assert second_largest([1, 5, 3]) == 3
    assert second_largest([10, 20]) == 10
    assert second_largest([4, 4, 2]) == 2
    assert second_largest([-1, -7, -3]) == -3
