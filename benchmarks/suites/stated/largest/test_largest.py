from main import largest


def test_largest():
    assert largest([3, 9, 2]) == 9
    assert largest([-5, -1]) == -1
    assert largest([7]) == 7
    assert largest([2.5, 1, 2]) == 2.5
