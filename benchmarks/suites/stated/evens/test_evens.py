from main import evens


def test_evens():
    assert evens([1, 2, 3, 4]) == [2, 4]
    assert evens([5]) == []
    assert evens([]) == []
    assert evens([0, -2, 7, 8]) == [0, -2, 8]
